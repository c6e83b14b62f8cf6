/**
 * Public face of src/merge: reading chunk result pickles, planning their merge (merge.json) and
 * streaming the merged frames into the output document and the player's files. The worker-thread
 * entry is merge-worker.ts (run by src/stages/merge.ts, emit.ts and preview.ts through piscina).
 */
export { CHUNK_SCHEMA, type ChunkResult, ChunkResultError, parseChunkPickle, readChunkFile, readChunkPickle } from './read-chunk-pickle.ts';
export { iou, joinTracks, type OverlapBox } from './join-tracks.ts';
export { chunkFrames, chunkFrameTexts, type ExtrasChoice, type MergedFrame, type MergeResult, mergeChunks, type Person } from './merge-chunks.ts';
export { type MergedChunk, type MergeIndex, MERGE_INDEX_VERSION, readMergeIndex } from './merge-index.ts';
export { DEFAULT_IOU_THRESHOLD, type MergeChunk, MergePlanner, type TrackSummary } from './merge-plan.ts';
export { mergedFrames, mergedFrameTexts } from './merged-frames.ts';
export type { EmitTask, MergeTask, PlayerTask, WorkerReply, WorkerStats, WorkerTask } from './merge-worker.ts';
export { frameText, jsonDocument, outputTime } from './output-document.ts';
export { PLAYER_DIR, type PlayerFrame, type PlayerIndex, type PlayerPerson, WINDOW_FRAMES, writePlayerFiles } from './player-files.ts';
export { NdArray, UnexpectedGlobalError, unpickleNumpy } from './unpickle-numpy.ts';
export { PICKLE_LIMITS, PickleLimitError, type PickleLimits, scanPickle } from './pickle-limits.ts';
