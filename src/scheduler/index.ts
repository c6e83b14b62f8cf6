/** The scheduler: walks jobs through their stages and hands their chunks to the tracker. */
export { Pipeline, type PipelineDeps } from './pipeline.ts';
export type { ChunkTracking, JobOutcome, PipelineEvent, TrackControl } from './types.ts';
