/**
 * How well builtin keeps ids (issue 12, part 4): street-people.avi through the real CLI with the
 * builtin tracker in 1 s chunks (as test/e2e/street-people.test.ts runs it). Prints how many tracks
 * the result has, how many are shorter than 50 and than 10 frames, the longest, and every track's
 * first/last frame; then, for the people marked by eye in ten frames (bench/truth/street-people.json,
 * each with a letter that is the same person in every frame), the frames where a track's box
 * overlaps theirs by IoU ≥ 0.5, and how many ids they had over those frames (one is no switch).
 * The detector is builtin's default unless POSEPIPE_BUILTIN_DETECTOR says otherwise.
 * Usage: npm run bench:ids [-- --chunk-seconds 1 --video PATH]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { corners, iou, streetTruth } from './truth/street.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const chunkSeconds = arg('chunk-seconds', '1');
const video = resolve(arg('video', '../shared/fixtures/street-people.avi'));

const root = mkdtempSync(join(tmpdir(), 'posepipe-bench-ids-'));
const env: NodeJS.ProcessEnv = {};
for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('POSEPIPE_') || k.startsWith('POSEPIPE_BUILTIN_')) env[k] = v;
Object.assign(env, {
  POSEPIPE_HOME: join(root, 'home'),
  POSEPIPE_INBOX: join(root, 'inbox'),
  POSEPIPE_OUTBOX: join(root, 'outbox'),
  POSEPIPE_PYTHON: process.env.POSEPIPE_PYTHON ?? (existsSync(resolve('python/.venv/bin/python')) ? resolve('python/.venv/bin/python') : '/usr/bin/python3'),
  POSEPIPE_TRACKER: 'builtin',
  POSEPIPE_PORT: '0',
  // As the pipeline tests run it (a 1280-wide clip is downscaled for detection either way).
  POSEPIPE_BUILTIN_MIN_PERSON: process.env.POSEPIPE_BUILTIN_MIN_PERSON ?? '0',
});

console.log(`running posepipe (builtin) on ${basename(video)} with ${chunkSeconds} s chunks…`);
const t0 = performance.now();
const run = spawnSync(process.execPath, ['bin/posepipe.js', 'run', video, '--chunk-seconds', chunkSeconds], { env, stdio: ['ignore', 'ignore', 'inherit'] });
const wallMs = performance.now() - t0;
if (run.status !== 0) throw new Error(`posepipe run exited ${run.status}`);

interface Output {
  frames: { persons: { track: number; bbox: number[] }[] }[];
  source: { frameCount: number };
  chunks: { firstFrame: number }[];
  tracks: { id: number; firstFrame: number; lastFrame: number; frames: number }[];
}
const name = `${basename(video).replace(/\.[^.]*$/, '')}.json`;
const doc = JSON.parse(readFileSync(join(root, 'outbox', name), 'utf8')) as Output;
rmSync(root, { recursive: true, force: true });

const lengths = doc.tracks.map((t) => t.lastFrame - t.firstFrame + 1);
const whole = doc.tracks.filter((t) => t.firstFrame === 0 && t.lastFrame === doc.source.frameCount - 1);
console.log(`
video              ${doc.source.frameCount} frames, ${doc.chunks.length} chunks starting at ${doc.chunks.map((c) => c.firstFrame).join(', ')}
wall time          ${(wallMs / 1000).toFixed(1)} s   (posepipe run)
tracks             ${doc.tracks.length}
under 50 frames    ${lengths.filter((n) => n < 50).length}
under 10 frames    ${lengths.filter((n) => n < 10).length}
longest            ${Math.max(0, ...lengths)} frames
whole clip         ${whole.length}   (tracks from frame 0 to the last)

track  first  last  span  observed`);
for (const [k, t] of doc.tracks.entries()) {
  console.log(`${String(t.id).padStart(5)}  ${String(t.firstFrame).padStart(5)}  ${String(t.lastFrame).padStart(4)}  ${String(lengths[k]).padStart(4)}  ${String(t.frames).padStart(8)}`);
}

if (basename(video) === 'street-people.avi') {
  const truth = streetTruth();
  const ids = new Map<string, { marked: number; found: number; tracks: Set<number> }>();
  for (const [frame, marks] of Object.entries(truth.frames)) {
    const rows = doc.frames[Number(frame)]!.persons.map((p) => ({ track: p.track, box: corners(p.bbox) }));
    marks.people.forEach((box, k) => {
      const who = marks.who[k]!;
      const entry = ids.get(who) ?? { marked: 0, found: 0, tracks: new Set<number>() };
      ids.set(who, entry);
      entry.marked++;
      const best = rows.map((r) => ({ r, v: iou(r.box, box) })).filter((x) => x.v >= 0.5).sort((a, b) => b.v - a.v)[0];
      if (best) {
        entry.found++;
        entry.tracks.add(best.r.track);
      }
    });
  }
  let switches = 0;
  console.log('\nmarked person                                              frames  found  ids');
  for (const [who, e] of [...ids.entries()].sort()) {
    switches += Math.max(0, e.tracks.size - 1);
    console.log(`${who} ${truth.whoIs[who]!.slice(0, 55).padEnd(55)} ${String(e.marked).padStart(6)} ${String(e.found).padStart(6)}  ${[...e.tracks].join(', ') || '-'}`);
  }
  const marked = [...ids.values()].reduce((a, e) => a + e.marked, 0);
  const found = [...ids.values()].reduce((a, e) => a + e.found, 0);
  console.log(`marked ${marked}, found ${found} (${((100 * found) / marked).toFixed(1)}%), id switches ${switches}`);
}

