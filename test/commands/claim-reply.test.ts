/**
 * A worker checks every field of a coordinator's claim reply before any of it becomes a path: each
 * hostile value is refused with an error that names its field, and a good reply's inputs get the
 * worker's own names.
 */
import { describe, expect, it } from 'vitest';
import { ClaimReplyError, localInputName, localRows, parseClaim } from '../../src/commands/claim-reply.ts';

const chunk = { job_id: 3, idx: 1, file: 'chunks/chunk-001.ts', file_start: 0, splits: 0, first_frame: 25, frame_count: 25, overlap_frames: 5, state: 'running', error_text: null };
const previous = { ...chunk, idx: 0, file: 'chunks/chunk-000.ts', first_frame: 0, overlap_frames: 0 };
const good = { attempt: 7, number: 1, jobId: 3, chunk, previous, files: ['chunks/chunk-000.ts', 'chunks/chunk-001.ts'], leaseSeconds: 60, lease: 'A'.repeat(31) + '_' };

/** `good` with one field (a dotted path) replaced. */
function withField(path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(good) as Record<string, unknown>;
  const keys = path.split('.');
  let at = copy as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  if (value === undefined) delete at[keys.at(-1)!];
  else at[keys.at(-1)!] = value;
  return copy;
}

describe('parseClaim', () => {
  it('takes a good reply, keeps only the chunk fields tracking reads, and names inputs its own way', () => {
    const claim = parseClaim(good);
    expect(claim.chunk).toEqual({ job_id: 3, idx: 1, file: 'chunks/chunk-001.ts', file_start: 0, first_frame: 25, frame_count: 25, overlap_frames: 5 });
    expect(localInputName(claim, 0)).toBe('input-0.ts');
    const rows = localRows(claim);
    expect(rows.chunk.file).toBe('input-1.ts');
    expect(rows.previous?.file).toBe('input-0.ts');
    // The first chunk: no previous row, one input.
    const first = parseClaim({ ...good, chunk: { ...previous }, previous: null, files: ['chunks/chunk-000.ts'] });
    expect(localRows(first)).toEqual({ chunk: expect.objectContaining({ file: 'input-0.ts' }), previous: undefined });
  });

  const hostile: [string, unknown, RegExp][] = [
    ['attempt', '/../../../../home/u', /^attempt must be an integer/],
    ['attempt', 0, /^attempt must be an integer from 1/],
    ['attempt', 1.5, /^attempt /],
    ['attempt', 1e300, /^attempt /],
    ['number', '1', /^number /],
    ['jobId', -3, /^jobId /],
    ['chunk', 'chunks/x', /^chunk must be an object/],
    ['chunk.first_frame', '../../x', /^chunk\.first_frame must be an integer/],
    ['chunk.first_frame', -1, /^chunk\.first_frame /],
    ['chunk.frame_count', 0, /^chunk\.frame_count /],
    ['chunk.frame_count', 2 ** 31, /^chunk\.frame_count /],
    ['chunk.idx', null, /^chunk\.idx /],
    ['chunk.file_start', Number.NaN, /^chunk\.file_start /],
    ['chunk.overlap_frames', 26, /^chunk\.overlap_frames must be at most previous\.frame_count/],
    ['chunk.job_id', 4, /^chunk\.job_id must be the claim's jobId 3/],
    ['chunk.file', '/etc/passwd', /^chunk\.file must be a relative name/],
    ['chunk.file', '../../etc/passwd', /^chunk\.file must be made of plain names/],
    ['chunk.file', 'chunks/../../x', /^chunk\.file must be made of plain names/],
    ['chunk.file', 'chunks//x', /^chunk\.file must be made of plain names/],
    ['chunk.file', 'chunks\\..\\x', /^chunk\.file must not hold a control character or a backslash/],
    ['chunk.file', 'chunks/a\0b', /^chunk\.file must not hold a control/],
    ['chunk.file', 'chunks/a\nb', /^chunk\.file must not hold a control/],
    ['chunk.file', 'C:secret', /^chunk\.file must be a relative name/],
    ['chunk.file', 'a'.repeat(256), /^chunk\.file must be a file name of 1 to 255/],
    ['chunk.file', 7, /^chunk\.file /],
    ['previous', 'x', /^previous must be an object/],
    ['previous.file', '..', /^previous\.file must be made of plain names/],
    ['previous.first_frame', 1, /^previous must end where the chunk begins/],
    ['files', ['../../x'], /^files\[0\] must be made of plain names/],
    ['files', ['chunks/chunk-001.ts'], /^files must be the inputs the chunk reads/],
    ['files', ['chunks/chunk-000.ts', 'chunks/chunk-001.ts', 'chunks/chunk-002.ts'], /^files must list one or two/],
    ['files', 'chunks/chunk-001.ts', /^files must list one or two/],
    ['leaseSeconds', 0, /^leaseSeconds /],
    ['leaseSeconds', Number.POSITIVE_INFINITY, /^leaseSeconds /],
    ['leaseSeconds', undefined, /^leaseSeconds /],
    ['lease', undefined, /^lease must be 32 characters/],
    ['lease', 'short', /^lease /],
    ['lease', `${'A'.repeat(31)}/`, /^lease /],
  ];
  it.each(hostile)('refuses %s = %j, naming the field', (field, value, message) => {
    expect(() => parseClaim(withField(field, value))).toThrow(ClaimReplyError);
    expect(() => parseClaim(withField(field, value))).toThrow(message);
  });

  it('refuses a reply that is not an object', () => {
    for (const body of [null, [], 'x', 3]) expect(() => parseClaim(body)).toThrow(/^the claim reply must be an object/);
  });
});
