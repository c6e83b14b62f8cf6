/**
 * The tracker worker protocol, mirrored by python/posepipe/protocol.py: one JSON object per line,
 * requests on the worker's stdin, events on its stdout. Parsed strictly: a line that is not
 * exactly one of these events is a protocol error quoting the line.
 */
import { isAbsolute } from 'node:path';
import { TrackerError } from '../errors.ts';

/** Error kinds the worker itself reports (crash and stall are decided on this side). */
export const WORKER_ERROR_KINDS = ['oom', 'input', 'tracker', 'internal', 'environment', 'disk'] as const;
/** One of WORKER_ERROR_KINDS. */
export type WorkerErrorKind = (typeof WORKER_ERROR_KINDS)[number];

/**
 * One file to decode: its first `start` frames are decoded but not tracked (the overlap), then its
 * next `count` frames are tracked (absent: the rest of the file). A file shorter than start+count
 * is bad input.
 */
export interface TrackInput {
  path: string;
  start: number;
  count?: number;
}

/** Track absolute frames firstFrame..firstFrame+frameCount-1 and write one pickle to `output`. */
export interface TrackRequest {
  type: 'track';
  id: string;
  inputs: TrackInput[];
  firstFrame: number;
  frameCount: number;
  output: string;
}

/** Ask the worker to exit 0 (closing its stdin does the same). */
export interface ShutdownRequest {
  type: 'shutdown';
}

/** Everything the pipeline may write to the worker. */
export type WorkerRequest = TrackRequest | ShutdownRequest;

/** The backend is loaded; sent once per process. */
export interface ReadyEvent {
  type: 'ready';
  backend: string;
  version: string;
  device: string;
  pid: number;
  loadSeconds: number;
  /** Optional facts a GPU backend reports: its precision, batch cap and device memory. */
  precision?: string;
  batch?: number;
  memoryTotalMb?: number;
  memoryFreeMb?: number;
}

/** `frame` frames of `frames` are tracked; also the heartbeat (at least once a second of work). */
export interface ProgressEvent {
  type: 'progress';
  id: string;
  frame: number;
  frames: number;
}

/** The chunk's pickle is in place at `output`; `seconds` is the worker's busy time. */
export interface DoneEvent {
  type: 'done';
  id: string;
  output: string;
  frames: number;
  detections: number;
  seconds: number;
}

/** A request failed (with `id`) or the worker could not start or read a line (without). */
export interface ErrorEvent {
  type: 'error';
  id?: string;
  kind: WorkerErrorKind;
  message: string;
}

/** Everything the worker may write on stdout. */
export type WorkerEvent = ReadyEvent | ProgressEvent | DoneEvent | ErrorEvent;

type Field = 'string' | 'count' | 'seconds' | 'kind';
// Each event's fields and their types; `?` marks an optional one. Unknown fields are refused so
// that a change on the Python side shows up here, in the protocol test, not as silent loss.
const SHAPES: Record<WorkerEvent['type'], Record<string, Field>> = {
  ready: {
    backend: 'string',
    version: 'string',
    device: 'string',
    pid: 'count',
    loadSeconds: 'seconds',
    // READY_INFO in python/posepipe/protocol.py
    'precision?': 'string',
    'batch?': 'count',
    'memoryTotalMb?': 'count',
    'memoryFreeMb?': 'count',
  },
  progress: { id: 'string', frame: 'count', frames: 'count' },
  done: { id: 'string', output: 'string', frames: 'count', detections: 'count', seconds: 'seconds' },
  error: { 'id?': 'string', kind: 'kind', message: 'string' },
};

function fits(value: unknown, field: Field): boolean {
  switch (field) {
    case 'string':
      return typeof value === 'string';
    case 'count':
      return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
    case 'seconds':
      return typeof value === 'number' && Number.isFinite(value) && value >= 0;
    case 'kind':
      return typeof value === 'string' && (WORKER_ERROR_KINDS as readonly string[]).includes(value);
  }
}

/** Quote a line for an error message, cut short so one huge line cannot flood a log. */
export function quoteLine(line: string, limit = 300): string {
  return JSON.stringify(line.length > limit ? `${line.slice(0, limit)}...` : line);
}

/**
 * The stderr line that ends a failed request's traceback, written before its error event
 * (failure_mark in python/posepipe/protocol.py): the two pipes are read separately, so the
 * pipeline waits for it to have the whole traceback in the chunk's log and on its row.
 */
export function failureMark(id: string): string {
  return `[posepipe] request ${JSON.stringify(id)} failed: `;
}

/** Parse one stdout line into an event; throws TrackerError kind 'internal' quoting the line. */
export function parseEvent(line: string): WorkerEvent {
  const fail = (why: string): never => {
    throw new TrackerError('internal', `Tracker protocol error: ${why} in line ${quoteLine(line)}`);
  };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return fail('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('not a JSON object');
  const obj = value as Record<string, unknown>;
  const type = obj.type;
  if (typeof type !== 'string' || !Object.hasOwn(SHAPES, type)) return fail('unknown event type');
  const shape = SHAPES[type as WorkerEvent['type']];
  const known = new Set(['type']);
  for (const [spec, field] of Object.entries(shape)) {
    const optional = spec.endsWith('?');
    const key = optional ? spec.slice(0, -1) : spec;
    known.add(key);
    if (!Object.hasOwn(obj, key)) {
      if (optional) continue;
      fail(`missing field "${key}"`);
    }
    if (!fits(obj[key], field)) fail(`field "${key}" is not a valid ${field}`);
  }
  for (const key of Object.keys(obj)) if (!known.has(key)) fail(`unknown field "${key}"`);
  return obj as unknown as WorkerEvent;
}

/**
 * Serialise a request as one line; JSON.stringify escapes newlines, so a path cannot split it.
 * A request the worker would refuse is our own bug: TypeError naming the field, nothing written.
 */
export function formatRequest(request: WorkerRequest): string {
  if (request.type === 'track') checkTrack(request);
  return `${JSON.stringify(request)}\n`;
}

function checkTrack(r: TrackRequest): void {
  const bad = (field: string, what: string): never => {
    throw new TypeError(`track request ${JSON.stringify(r.id)}: "${field}" must be ${what}`);
  };
  const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const isPath = (v: unknown) => typeof v === 'string' && isAbsolute(v) && !v.includes('\0');
  if (typeof r.id !== 'string' || r.id === '') bad('id', 'a non-empty string');
  if (!Array.isArray(r.inputs) || r.inputs.length === 0) bad('inputs', 'a non-empty list');
  r.inputs.forEach((input, i) => {
    if (!isPath(input.path)) bad(`inputs[${i}].path`, 'an absolute path');
    if (!isCount(input.start)) bad(`inputs[${i}].start`, 'a non-negative integer');
    if (input.count !== undefined && !isCount(input.count)) bad(`inputs[${i}].count`, 'a non-negative integer when present');
    for (const key of Object.keys(input)) if (!['path', 'start', 'count'].includes(key)) bad(`inputs[${i}].${key}`, 'absent (unknown field)');
  });
  if (!isCount(r.firstFrame)) bad('firstFrame', 'a non-negative integer');
  if (!isCount(r.frameCount)) bad('frameCount', 'a non-negative integer');
  if (r.inputs.every((input) => input.count !== undefined)) {
    const total = r.inputs.reduce((n, input) => n + (input.count ?? 0), 0);
    if (total !== r.frameCount) bad('frameCount', `the sum of the inputs' counts (${total}), got ${r.frameCount}`);
  }
  if (!isPath(r.output)) bad('output', 'an absolute path');
}
