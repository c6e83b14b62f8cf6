/**
 * The few error classes posepipe uses. Each says what happens next, so the pipeline can
 * classify a failure with `classify()` instead of guessing from message text.
 */

/**
 * Every way a stage or chunk can fail, one spelling across TypeScript, SQL and Python. `tracker`:
 * the backend's own code raised (or returned something unusable); `internal`: posepipe's bug only.
 */
export const FAILURE_KINDS = ['input', 'oom', 'crash', 'stall', 'environment', 'internal', 'disk', 'tracker'] as const;
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

/** The tracker worker failed a chunk: crash, stall, oom, bad input, the backend's error or an internal one. */
export class TrackerError extends PipelineError {
  readonly details: TrackerFailure;
  constructor(kind: FailureKind, message: string, details: TrackerFailure = {}) {
    super(kind, message);
    this.name = 'TrackerError';
    this.details = details;
  }
}

/**
 * Decide what a thrown value means: our own bugs (TypeError etc.) are `internal` and fail at once;
 * a crash, a stall or the backend's own exception (`tracker`: a CUDA fault, a flaky download) is
 * tried again within the attempt budget.
 */
export function classify(error: unknown): { kind: FailureKind; message: string; retry: boolean } {
  if (error instanceof PipelineError) {
    const retry = error.kind === 'crash' || error.kind === 'stall' || error.kind === 'tracker';
    return { kind: error.kind, message: error.message, retry };
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return { kind: 'disk', message: `Disk full: ${(error as Error).message}`, retry: false };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'internal', message, retry: false };
}

/** A failure's message with the tracker's last stderr lines (its traceback) under it, when it has them. */
export function withStderr(error: unknown): string {
  const { message } = classify(error);
  const tail = error instanceof TrackerError ? error.details.stderrTail?.trim() : undefined;
  return tail ? `${message}\n${tail}` : message;
}

const ADVICE: Record<FailureKind, string> = {
  input: 'The file itself is the problem (not a video, empty, damaged or over a limit): resuming reads the same bytes and fails again. Fix or re-export it and drop it in the inbox again.',
  oom: 'The tracker ran out of memory even on the smallest chunk. Free the GPU or lower the chunk length, then resume.',
  crash: 'The tracker process died, more often than the attempt budget allows. Its stderr says why; resume tries again.',
  stall: 'The tracker stopped reporting progress and was stopped. Check the machine (GPU busy, swapping), then resume.',
  environment: 'The machine is not set up for tracking. Run `posepipe doctor`, fix what it reports, then resume.',
  internal: 'A bug in posepipe. Please report it with the text and stderr; resume tries again.',
  disk: 'The disk is full. Free space on the posepipe home filesystem, then resume.',
  tracker: "The tracker backend raised an error of its own (its stderr has the traceback). Fix what it names (its install, its settings, the GPU), then resume.",
};

/**
 * An input failure that a setting caused: the message names the limit it was over. Raising that
 * setting and resuming is the fix, so a Resume is offered for it and for no other input failure.
 */
export function overLimit(error: { kind: string; text: string }): boolean {
  return error.kind === 'input' && /\blimit\b[^]*\(POSEPIPE_[A-Z_]+/.test(error.text);
}

/** Whether resuming can succeed without the file changing: false for bad input, unless a limit refused it. */
export function resumeHelps(error: { kind: string; text: string } | null | undefined): boolean {
  return !error || error.kind !== 'input' || overLimit(error);
}

/** What to do about a failure, the same words on the page and in the CLI ('' for an unknown kind). */
export function failureAdvice(error: { kind: string; text: string }): string {
  if (!(FAILURE_KINDS as readonly string[]).includes(error.kind)) return '';
  const tip = ADVICE[error.kind as FailureKind];
  return overLimit(error) ? `${tip} Or raise the limit named above, then resume.` : tip;
}
