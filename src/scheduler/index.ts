/** The scheduler: walks jobs through their stages and hands their chunks to the tracker. */
export { Pipeline, type PipelineDeps } from './pipeline.ts';
export { LocalRunner } from './local-runner.ts';
export { countNvidiaGpus, deviceVariable, MAX_CPU_SLOTS, planSlots, type SlotPlan } from './slots.ts';
export type { ChunkAttempt, ChunkRunner, ChunkTracking, JobOutcome, PipelineEvent, TrackControl } from './types.ts';
export { QUEUE_NAME, redisConnection, RemoteDispatch, type Offer, type WorkerAnswer, type WorkerHello } from './remote.ts';
export { RESULT_BYTES_PER_FRAME, resultCap } from './result-upload.ts';
