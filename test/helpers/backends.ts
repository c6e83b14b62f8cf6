/** Settings that make the GPU backends runnable in tests on a CPU without weights or 4D-Humans. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * keypoints: seconds per frame on one core. A 64-pixel short side, 20 proposals, 2 persons per
 * frame, every detection kept (random weights score about 0.3) and every detection its own
 * confirmed track.
 */
export const KEYPOINTS_TINY: Readonly<Record<string, string>> = {
  POSEPIPE_KEYPOINTS_WEIGHTS: 'random',
  POSEPIPE_KEYPOINTS_DEVICE: 'cpu',
  POSEPIPE_KEYPOINTS_SIZE: '64',
  POSEPIPE_KEYPOINTS_PROPOSALS: '20',
  POSEPIPE_KEYPOINTS_MAX_PERSONS: '2',
  POSEPIPE_KEYPOINTS_MIN_SCORE: '0',
  POSEPIPE_KEYPOINTS_MIN_HITS: '1',
  POSEPIPE_KEYPOINTS_BATCH: '2',
};

/** phalp: the stand-in hmr2/phalp/detectron2 packages the backend's tests run against. */
export const PHALP_STAND_INS = resolve('python/tests/stand_ins');

/**
 * A HOME whose caches hold (empty) every file of `posepipe models pull --list` for phalp and the SMPL
 * models, where 4D-Humans, PHALP, torch and detectron2 look: the worker's own manifest is the list.
 */
export function phalpHome(root: string): string {
  const home = join(root, 'home-caches');
  const r = spawnSync('/usr/bin/python3', [resolve('python/posepipe_worker.py'), '--models', '--backend', 'phalp'], {
    encoding: 'utf8',
    env: { ...process.env, HOME: home, PYTHONPATH: PHALP_STAND_INS, PYTHONDONTWRITEBYTECODE: '1' },
  });
  if (r.status !== 0) throw new Error(`posepipe_worker.py --models failed: ${r.stderr}`);
  const manifest = JSON.parse(r.stdout) as { files: Array<{ dest: string; unpack?: { provides: string[] } }>; manual: Array<{ dest: string }> };
  const paths = [...manifest.files.flatMap((f) => f.unpack?.provides ?? [f.dest]), ...manifest.manual.map((m) => m.dest)];
  for (const path of paths) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, '');
  }
  return home;
}

/** 20 frames, two bright "people": A at x 40 throughout, B at x 200 except frames 8 and 9. */
export function peopleVideo(path: string): void {
  const filter = "drawbox=x=40:y=60:w=60:h=120:color=white:t=fill,drawbox=x=200:y=50:w=60:h=120:color=white:t=fill:enable='not(between(n,8,9))'";
  const r = spawnSync('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=black:s=320x240:r=10:d=2', '-vf', filter, '-c:v', 'libx264', '-qp', '0', '-pix_fmt', 'yuv420p', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
}
