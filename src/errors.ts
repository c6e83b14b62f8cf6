/**
 * The few error classes posepipe uses. Each says what happens next, so the pipeline can
 * classify a failure with `classify()` instead of guessing from message text.
 */

/** Every way a stage or chunk can fail, one spelling across TypeScript, SQL and Python. */
export const FAILURE_KINDS = ['input', 'oom', 'crash', 'stall', 'environment', 'internal', 'disk'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** A failure the pipeline understands; `kind` decides retry, split or fail. */
export class PipelineError extends Error {
  readonly kind: FailureKind;
  constructor(kind: FailureKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PipelineError';
    this.kind = kind;
  }
}

/** The input itself is bad (not a video, empty, unreadable): fail the job, never retry. */
export class InputError extends PipelineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('input', message, options);
    this.name = 'InputError';
  }
}

/** The machine is not set up (missing ffmpeg, broken venv, import error): fail, run `posepipe doctor`. */
export class EnvironmentError extends PipelineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('environment', message, options);
    this.name = 'EnvironmentError';
  }
}

/** Details of a failed tracker run, stored on the chunk row. */
export interface TrackerFailure {
  exitCode?: number | null;
  signal?: string | null;
  stderrTail?: string;
}

/** The tracker worker failed a chunk: crash, stall, oom, bad input or an internal error. */
export class TrackerError extends PipelineError {
  readonly details: TrackerFailure;
  constructor(kind: FailureKind, message: string, details: TrackerFailure = {}) {
    super(kind, message);
    this.name = 'TrackerError';
    this.details = details;
  }
}

/** Decide what a thrown value means: our own bugs (TypeError etc.) are `internal` and fail at once. */
export function classify(error: unknown): { kind: FailureKind; message: string; retry: boolean } {
  if (error instanceof PipelineError) {
    const retry = error.kind === 'crash' || error.kind === 'stall';
    return { kind: error.kind, message: error.message, retry };
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return { kind: 'disk', message: `Disk full: ${(error as Error).message}`, retry: false };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'internal', message, retry: false };
}
