/**
 * Boxes (+ keypoints) through the real tracker worker: the builtin backend with the centernet
 * detector (and POSEPIPE_BUILTIN_KEYPOINTS=1) in two TrackerWorkers side by side (two slots, one
 * per core), each tracking half of a clip, as `posepipe run --workers 2` would. Part of
 * bench/detect.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { TrackerWorker } from '../src/tracker/index.ts';

const PYTHON = process.env.POSEPIPE_PYTHON ?? (existsSync(resolve('python/.venv/bin/python')) ? resolve('python/.venv/bin/python') : '/usr/bin/python3');

/** Frames/s of boxes (+ keypoints) over `frames` frames of `video` through `filter`, with `slots` workers. */
export async function keypointsSpeed(video: string, filter: string, frames: number, slots = 2, keypoints = true, extraEnv: Record<string, string> = {}): Promise<{ fps: number; rowsPerFrame: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'posepipe-bench-keypoints-'));
  try {
    // The material as a file the worker decodes, losslessly (FFV1), so it sees exactly these pixels.
    const clip = join(dir, 'clip.mkv');
    const made = spawnSync('ffmpeg', ['-v', 'error', '-i', video, '-vf', filter, '-frames:v', String(frames), '-c:v', 'ffv1', clip]);
    if (made.status !== 0) throw new Error(`ffmpeg could not make ${clip} from ${video}: ${made.stderr.toString()}`);
    const env = { POSEPIPE_BUILTIN_DETECTOR: 'centernet', POSEPIPE_BUILTIN_KEYPOINTS: keypoints ? '1' : '0', ...extraEnv };
    const workers = Array.from({ length: slots }, () => new TrackerWorker({ python: PYTHON, backend: 'builtin', env, startupMs: 60_000, heartbeatMs: 60_000 }));
    try {
      await Promise.all(workers.map((w) => w.start()));
      const share = Math.ceil(frames / slots);
      const t0 = performance.now();
      const done = await Promise.all(workers.map((w, i) => {
        const start = i * share;
        const count = Math.min(share, frames - start);
        return w.track({ id: `bench-${i}`, inputs: [{ path: clip, start, count }], firstFrame: start, frameCount: count, output: join(dir, `${i}.pkl`) });
      }));
      const seconds = (performance.now() - t0) / 1000;
      const rows = done.reduce((sum, d) => sum + d.detections, 0);
      return { fps: frames / seconds, rowsPerFrame: rows / frames };
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
