/**
 * Public face of src/merge: reading chunk result pickles and merging them into one result.
 * The worker-thread entry is merge-worker.ts (run by src/stages/merge.ts through piscina).
 */
export { CHUNK_SCHEMA, type ChunkResult, ChunkResultError, parseChunkPickle, readChunkPickle } from './read-chunk-pickle.ts';
export { iou, joinTracks, type OverlapBox } from './join-tracks.ts';
export {
  DEFAULT_IOU_THRESHOLD,
  type MergeChunk,
  type MergedFrame,
  type MergeResult,
  mergeChunks,
  type Person,
  type TrackSummary,
} from './merge-chunks.ts';
export type { MergeReply, MergeTask } from './merge-worker.ts';
export { NdArray, UnexpectedGlobalError, unpickleNumpy } from './unpickle-numpy.ts';
