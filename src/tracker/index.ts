/** The tracker worker: what the pipeline and `posepipe doctor` use from src/tracker. */
export { TrackerWorker } from './worker.ts';
export { DEFAULT_WORKER_SCRIPT, type TrackerWorkerOptions } from './options.ts';
export { parseEvent, formatRequest, quoteLine, WORKER_ERROR_KINDS } from './protocol.ts';
export type {
  WorkerErrorKind,
  TrackInput,
  TrackRequest,
  ShutdownRequest,
  WorkerRequest,
  ReadyEvent,
  ProgressEvent,
  DoneEvent,
  ErrorEvent,
  WorkerEvent,
} from './protocol.ts';
export { checkWorker, type WorkerCheck, type WorkerCheckReport } from './check.ts';
export { lastLines, runWorkerOnce, type WorkerRun } from './run-once.ts';
