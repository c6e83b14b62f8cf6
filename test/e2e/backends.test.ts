/**
 * Issue 5 end to end on the CPU, through chunking, the real worker, merge and emit:
 * - `posepipe run --tracker keypoints` (random weights, tiny settings) over a two-chunk clip of
 *   the street fixture;
 * - `posepipe run --tracker phalp` with the stand-in 4D-Humans packages (python/tests/stand_ins),
 *   with out-of-memory injected so that the batch cap falls, then a chunk is split, and the job
 *   still completes.
 * The outbox JSON must match the committed schema, and every person must carry its backend's
 * extras with their documented shapes.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEYPOINTS_TINY, PHALP_STAND_INS, peopleVideo, phalpHome } from '../helpers/backends.ts';
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
    expect(doc.tracker).toEqual(expect.objectContaining({ backend: 'keypoints', device: 'cpu', precision: 'fp32' }));
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

/** The shape of a nested array: [] for a number. */
function shape(value: unknown): number[] {
  return Array.isArray(value) ? [value.length, ...shape(value[0])] : [];
}

describe('the phalp backend (stand-in 4D-Humans) through the whole pipeline', () => {
  it('lowers the batch cap, then splits a chunk that still runs out of memory, and completes the job with every extra', async () => {
    const ws = workspace('backend-phalp');
    const video = join(ws.root, 'people.mp4');
    peopleVideo(video); // 20 frames at 10 fps: A at x 40 throughout, B at x 200 except frames 8 and 9
    const env = cliEnv(ws, {
      PYTHONPATH: PHALP_STAND_INS,
      POSEPIPE_STANDIN_GL_LIBS: 'EGL,OpenGL', // a host with EGL, whatever this machine has
      HOME: phalpHome(ws.root),
      POSEPIPE_PHALP_DEVICE: 'cpu',
      POSEPIPE_PHALP_BATCH: '8',
      // HMR2 runs out of memory above 2 crops per batch: the cap falls 8 -> 4 -> 2 in each process.
      POSEPIPE_STANDIN_OOM_ABOVE: '2',
      // The detector runs out of memory from the 13th frame of a request: chunk 1 (4 overlap + 10
      // frames) cannot be tracked whole at any batch size, its halves (4 + 5) can.
      POSEPIPE_STANDIN_OOM_FROM_FRAME: '12',
    });
    const r = await runCli(['run', video, '--tracker', 'phalp', '--chunk-seconds', '1', '--overlap-frames', '4', '--min-chunk-frames', '4'], env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/chunk 2 \(frames 10–19\), attempt 1: OutOfMemoryError: .* — splitting it in two/);

    // The cap fell in the worker (its log for chunk 0), before any split.
    const log0 = readFileSync(join(ws.home, 'jobs', '1', 'logs', '0000000+10.log'), 'utf8');
    expect(log0).toMatch(/out of memory with 8 crops per batch; retrying with 4\n.*out of memory with 4 crops per batch; retrying with 2/);

    const status = JSON.parse((await runCli(['status', '1', '--json'], cliEnv(ws))).stdout) as { state: string; chunkList: { firstFrame: number; frameCount: number; state: string; error: { kind: string } | null; earlierError: { kind: string } | null }[] };
    expect(status.state).toBe('done');
    expect(status.chunkList.map((c) => [c.firstFrame, c.frameCount, c.state])).toEqual([[0, 10, 'done'], [10, 5, 'done'], [15, 5, 'done']]);
    // The split chunk keeps its history, as an earlier attempt's: its latest attempt succeeded.
    expect([status.chunkList[1]!.error, status.chunkList[1]!.earlierError?.kind]).toEqual([null, 'oom']);

    const doc = readValidOutput(join(ws.outbox, 'people.json'));
    expect(doc.tracker).toEqual(expect.objectContaining({ backend: 'phalp', device: 'cpu', precision: 'fp32' }));
    expect(doc.frames).toHaveLength(20);
    // A keeps one id across both boundaries; B is observed in every frame but 8 and 9 (no ghosts).
    const a = doc.frames.map((f) => f.persons.filter((p) => p.bbox[0]! < 120).map((p) => p.track));
    expect(new Set(a.flat()).size).toBe(1);
    expect(a.every((ids) => ids.length === 1)).toBe(true);
    const bFrames = doc.frames.filter((f) => f.persons.some((p) => p.bbox[0]! > 120)).map((f) => f.index);
    expect(bFrames).toEqual(Array.from({ length: 20 }, (_, i) => i).filter((i) => i !== 8 && i !== 9));
    // Every person carries every extra, with the shapes the backend documents.
    for (const p of doc.frames.flatMap((f) => f.persons as Record<string, unknown>[])) {
      const shapes = Object.fromEntries(Object.entries(p).filter(([k]) => !['track', 'bbox', 'score'].includes(k)).map(([k, v]) => [k, shape(v)]));
      expect(shapes).toEqual({
        keypoints2d: [45, 2], joints3d: [45, 3], smpl_global_orient: [1, 3, 3], smpl_body_pose: [23, 3, 3],
        smpl_betas: [10], camera_translation: [3], focal_length: [],
      });
      expect(p.focal_length).toBe(6250); // 5000 on a 256 px square covering the padded 320 px frame
    }
  }, 120_000);
});
