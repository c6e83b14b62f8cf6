import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { statSync } from 'node:fs';
import { DEFAULT_INPUT_LIMITS, probe } from '../../src/stages/probe.ts';
import { fixture } from '../helpers/fixtures.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

describe('probe stage', () => {
  it('returns the facts of the staged file', async () => {
    ws = makeWorkspace('probe-stage');
    const sourcePath = join(ws.home, 'source.mov');
    copyFileSync(fixture('rotated.mp4'), sourcePath);
    expect(await probe({ sourcePath, displayName: 'holiday.mov' })).toMatchObject({ width: 240, height: 320, rotation: 90, fps: 25 });
  });

  it('names the user file, never the internal path, in its errors', async () => {
    ws = makeWorkspace('probe-stage');
    const sourcePath = join(ws.home, 'source.mp4');
    copyFileSync(fixture('text.mp4'), sourcePath);
    const displayName = 'my "notes" <b>.mp4';
    const error = await probe({ sourcePath, displayName }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).kind).toBe('input');
    expect((error as Error).message).toBe(`Cannot probe "${displayName}": not a video file (Invalid data found when processing input)`);
  });

  it('a missing staged file is an internal error, not bad input', async () => {
    ws = makeWorkspace('probe-stage');
    const error = await probe({ sourcePath: join(ws.home, 'gone.mp4'), displayName: 'clip.mp4' }).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(InputError);
    expect((error as { kind?: string }).kind).toBe('internal');
  });
});

/** Probe `name` as `displayName`; the error it rejects with and how long that took. */
async function refused(name: string, displayName: string, limits = DEFAULT_INPUT_LIMITS): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const error = await probe({ sourcePath: fixture(name), displayName, limits }).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, ms: performance.now() - started };
}

describe('probe stage: input limits, from the header, before any decoding', () => {
  it('a header claiming 15360x8640 is refused at once, naming the file, the size, the limit and the settings', async () => {
    // The fixture is a 4 KB YUV4MPEG2 file: not even one of its 199 MB frames is there to decode.
    expect(statSync(fixture('huge-resolution.mp4')).size).toBeLessThan(8192);
    const { error, ms } = await refused('huge-resolution.mp4', 'clip.mp4');
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe('Cannot process "clip.mp4": 15360x8640 is larger than the limit 7680x4320 (POSEPIPE_MAX_WIDTH / POSEPIPE_MAX_HEIGHT)');
    expect(ms).toBeLessThan(2000);
  });

  it('a header claiming 100 hours is refused at once', async () => {
    const { error, ms } = await refused('huge-duration.mkv', 'long.mkv');
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe('Cannot process "long.mkv": it lasts 100:00:00, longer than the limit 4:00:00 (POSEPIPE_MAX_DURATION_SECONDS=14400)');
    expect(ms).toBeLessThan(2000);
  });

  it('the fixtures really claim those values: raised limits accept them', async () => {
    const huge = await probe({ sourcePath: fixture('huge-resolution.mp4'), displayName: 'clip.mp4', limits: { ...DEFAULT_INPUT_LIMITS, maxWidth: 15360, maxHeight: 8640 } });
    expect(huge).toMatchObject({ width: 15360, height: 8640, codec: 'rawvideo' });
    const long = await probe({ sourcePath: fixture('huge-duration.mkv'), displayName: 'long.mkv', limits: { ...DEFAULT_INPUT_LIMITS, maxDurationSeconds: 360_000 } });
    expect(long).toMatchObject({ width: 16, height: 16, durationSeconds: 360_000 });
  });

  it('limits apply to the displayed size and are inclusive', async () => {
    // rotated.mp4 is stored 320x240 and displayed 240x320.
    const exact = { maxWidth: 240, maxHeight: 320, maxDurationSeconds: 6 };
    expect(await probe({ sourcePath: fixture('rotated.mp4'), displayName: 'r.mp4', limits: exact })).toMatchObject({ width: 240, height: 320 });
    const narrow = await refused('rotated.mp4', 'r.mp4', { ...exact, maxWidth: 239 });
    expect((narrow.error as Error).message).toBe('Cannot process "r.mp4": 240x320 is larger than the limit 239x320 (POSEPIPE_MAX_WIDTH / POSEPIPE_MAX_HEIGHT)');
    const short = await refused('rotated.mp4', 'r.mp4', { ...exact, maxDurationSeconds: 5 });
    expect((short.error as Error).message).toBe('Cannot process "r.mp4": it lasts 0:00:06, longer than the limit 0:00:05 (POSEPIPE_MAX_DURATION_SECONDS=5)');
    expect((short.error as InputError).kind).toBe('input');
  });
});
