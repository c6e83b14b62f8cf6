/**
 * A coordinator's answer to a worker's claim, checked field by field before anything of it becomes
 * a path: the coordinator may be impersonated (plain HTTP) or broken. Ids and frame numbers must be
 * integers in range, file names relative names of plain segments, the lease a string of the form
 * the coordinator makes. The worker's own files never take the coordinator's names: inputs are
 * saved as `input-<n><ext>` in the attempt's folder, and the chunk rows handed to the tracker point
 * at those, so a name is only ever compared, never joined.
 */
import type { ChunkRow } from '../db/index.ts';

/** The chunk fields a worker tracks by; the rest of a coordinator's row is dropped unread. */
export type ClaimedChunk = Pick<ChunkRow, 'job_id' | 'idx' | 'file' | 'file_start' | 'first_frame' | 'frame_count' | 'overlap_frames'>;

/** A claim reply that passed every check. */
export interface Claim {
  /** The attempt's id at the coordinator (also the worker's folder name: `attempt-<id>`). */
  attempt: number;
  /** Which try at the chunk this is (1 for the first). */
  number: number;
  jobId: number;
  chunk: ClaimedChunk;
  previous: ClaimedChunk | null;
  /** The coordinator's names of the inputs, in the order of GET …/files/<n>. */
  files: string[];
  /** How long the attempt may go without a frame advancing. */
  leaseSeconds: number;
  /** The attempt's secret, sent back as x-posepipe-lease on every later call. */
  lease: string;
}

/** A claim reply the worker refuses; the message names the field. */
export class ClaimReplyError extends Error {}

/** Attempt and job ids: the coordinator's routes take at most 15 digits. */
const MAX_ID = 999_999_999_999_999;
/** Frame numbers, counts and chunk indexes. */
const MAX_FRAME = 2 ** 31 - 1;
const MAX_ATTEMPT_NUMBER = 1_000_000;
const MAX_NAME_LENGTH = 255;
const LEASE_FORM = /^[A-Za-z0-9_-]{32}$/;

function fail(field: string, why: string, value: unknown): never {
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = typeof value;
  }
  throw new ClaimReplyError(`${field} ${why} (got ${shown.length > 80 ? `${shown.slice(0, 80)}…` : shown})`);
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) fail(field, `must be an integer from ${min} to ${max}`, value);
  return value;
}

/**
 * A coordinator's file name: relative, of plain segments (no empty, `.` or `..` segment), no
 * backslash, no control or formatting character, at most 255 characters. It is never joined to a
 * path; the check keeps a hostile one from passing as well-formed.
 */
function fileName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME_LENGTH) fail(field, `must be a file name of 1 to ${MAX_NAME_LENGTH} characters`, value);
  if (/[\p{Cc}\p{Cf}\\]/u.test(value)) fail(field, 'must not hold a control character or a backslash', value);
  if (value.startsWith('/') || /^[A-Za-z]:/.test(value)) fail(field, 'must be a relative name, not an absolute path', value);
  if (value.split('/').some((part) => part === '' || part === '.' || part === '..')) fail(field, 'must be made of plain names (no empty, "." or ".." part)', value);
  return value;
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(field, 'must be an object', value);
  return value as Record<string, unknown>;
}

function chunkOf(value: unknown, field: string, jobId: number): ClaimedChunk {
  const c = object(value, field);
  const chunk: ClaimedChunk = {
    job_id: integer(c.job_id, `${field}.job_id`, 1, MAX_ID),
    idx: integer(c.idx, `${field}.idx`, 0, MAX_FRAME),
    file: fileName(c.file, `${field}.file`),
    file_start: integer(c.file_start, `${field}.file_start`, 0, MAX_FRAME),
    first_frame: integer(c.first_frame, `${field}.first_frame`, 0, MAX_FRAME),
    frame_count: integer(c.frame_count, `${field}.frame_count`, 1, MAX_FRAME),
    overlap_frames: integer(c.overlap_frames, `${field}.overlap_frames`, 0, MAX_FRAME),
  };
  if (chunk.job_id !== jobId) fail(`${field}.job_id`, `must be the claim's jobId ${jobId}`, chunk.job_id);
  if (chunk.first_frame + chunk.frame_count > MAX_FRAME) fail(`${field}.frame_count`, `must end by frame ${MAX_FRAME}`, chunk.frame_count);
  return chunk;
}

/** The coordinator's claim reply, checked; ClaimReplyError naming the first bad field otherwise. */
export function parseClaim(body: unknown): Claim {
  const b = object(body, 'the claim reply');
  const attempt = integer(b.attempt, 'attempt', 1, MAX_ID);
  const number = integer(b.number, 'number', 1, MAX_ATTEMPT_NUMBER);
  const jobId = integer(b.jobId, 'jobId', 1, MAX_ID);
  if (typeof b.lease !== 'string' || !LEASE_FORM.test(b.lease)) fail('lease', 'must be 32 characters of base64url', b.lease);
  const lease = b.lease;
  if (typeof b.leaseSeconds !== 'number' || !Number.isFinite(b.leaseSeconds) || b.leaseSeconds < 1 || b.leaseSeconds > 86_400) fail('leaseSeconds', 'must be a number from 1 to 86400', b.leaseSeconds);
  const leaseSeconds = b.leaseSeconds;
  const chunk = chunkOf(b.chunk, 'chunk', jobId);
  const previous = b.previous === null ? null : chunkOf(b.previous, 'previous', jobId);
  if (previous) {
    if (chunk.overlap_frames > previous.frame_count) fail('chunk.overlap_frames', `must be at most previous.frame_count ${previous.frame_count}`, chunk.overlap_frames);
    if (chunk.overlap_frames > chunk.first_frame) fail('chunk.overlap_frames', `must be at most chunk.first_frame ${chunk.first_frame}`, chunk.overlap_frames);
    if (previous.first_frame + previous.frame_count !== chunk.first_frame) fail('previous', `must end where the chunk begins (frame ${chunk.first_frame})`, `${previous.first_frame}+${previous.frame_count}`);
  }
  if (!Array.isArray(b.files) || b.files.length < 1 || b.files.length > 2) fail('files', 'must list one or two input files', b.files);
  const files = b.files.map((f, i) => fileName(f, `files[${i}]`));
  // The inputs the tracker reads, in the coordinator's order: the previous row's file first when the overlap lies there.
  const expected = previous && chunk.overlap_frames > 0 && previous.file !== chunk.file ? [previous.file, chunk.file] : [chunk.file];
  if (files.length !== expected.length || files.some((f, i) => f !== expected[i])) fail('files', `must be the inputs the chunk reads, ${JSON.stringify(expected)}`, files);
  return { attempt, number, jobId, chunk, previous, files, leaseSeconds, lease };
}

/**
 * The worker's own name for input `n` (`input-<n>` and the coordinator's extension when it is a
 * plain one, so the decoder sees the container it expects).
 */
export function localInputName(claim: Claim, n: number): string {
  const ext = /\.[A-Za-z0-9]{1,10}$/.exec(claim.files[n]!)?.[0] ?? '';
  return `input-${n}${ext}`;
}

/** The claim's chunk rows pointed at the worker's own input names (what trackChunk joins to the attempt folder). */
export function localRows(claim: Claim): { chunk: ClaimedChunk; previous: ClaimedChunk | undefined } {
  const local = (file: string) => localInputName(claim, Math.max(0, claim.files.indexOf(file)));
  return {
    chunk: { ...claim.chunk, file: local(claim.chunk.file) },
    previous: claim.previous ? { ...claim.previous, file: local(claim.previous.file) } : undefined,
  };
}
