/**
 * Issue 5 end to end on the CPU: `posepipe run --tracker keypoints` (random weights, tiny settings)
 * over a two-chunk clip of the street fixture, through chunking, the real worker, merge and emit.
 * The outbox JSON must match the committed schema, and every person must carry its backend's
 * extras with their documented shapes, in image pixels.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEYPOINTS_TINY } from '../helpers/backends.ts';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { STREET_PEOPLE } from '../helpers/fixtures.ts';
import { readValidOutput } from '../helpers/output.ts';
import { workspacesPerTest } from '../helpers/workspace.ts';

const workspace = workspacesPerTest();

/** 24 frames of the street fixture at 320x180, 12 fps, no audio: two 1-second chunks. */
function streetClip(path: string): void {
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-ss', '1', '-i', STREET_PEOPLE, '-frames:v', '24', '-an', '-vf', 'scale=320:180,fps=12', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', path];
  const r = spawnSync('ffmpeg', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
}

type Keypoint = [number | null, number | null, number | null];
type Person = { track: number; bbox: [number, number, number, number]; score: number; keypoints2d?: Keypoint[] };

describe('the keypoints backend through the whole pipeline', () => {
  it('writes 17 COCO keypoints (x, y, score in pixels, inside the box) for every person of every frame', async () => {
    const ws = workspace('backend-keypoints');
    const clip = join(ws.root, 'street clip.mp4');
    streetClip(clip);
    const r = await runCli(['run', clip, '--tracker', 'keypoints', '--chunk-seconds', '1'], cliEnv(ws, { ...KEYPOINTS_TINY }));
    expect(r.code, r.stdout + r.stderr).toBe(0);

    const doc = readValidOutput(join(ws.outbox, 'street clip.json'));
    expect(doc.tracker).toMatchObject({ backend: 'keypoints', device: 'cpu' });
    expect(doc.tracker.version).toMatch(/torchvision .*random/);
    expect(doc.chunks.map((c) => [c.firstFrame, c.frameCount])).toEqual([[0, 12], [12, 12]]);
    expect(doc.frames).toHaveLength(24);
    const persons = doc.frames.flatMap((f) => f.persons as Person[]);
    // Every detection is kept (score 0 and up) and confirmed at once: 1 or 2 persons in each frame.
    for (const f of doc.frames) expect(f.persons.length, `frame ${f.index}`).toBeGreaterThanOrEqual(1);
    for (const f of doc.frames) expect(f.persons.length, `frame ${f.index}`).toBeLessThanOrEqual(2);
    for (const p of persons) {
      expect(p.keypoints2d).toHaveLength(17);
      const [x, y, w, h] = p.bbox;
      for (const [kx, ky, ks] of p.keypoints2d!) {
        expect(typeof ks).toBe('number');
        // 2 decimals after emit: a pixel of slack either side.
        expect(kx!).toBeGreaterThanOrEqual(x - 1);
        expect(kx!).toBeLessThanOrEqual(x + w + 1);
        expect(ky!).toBeGreaterThanOrEqual(y - 1);
        expect(ky!).toBeLessThanOrEqual(y + h + 1);
      }
    }
    // The second chunk's persons were tracked by the same worker: the backend was loaded once.
    const status = await runCli(['status', '1', '--json'], cliEnv(ws));
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'done' });
  }, 240_000);
});
