/**
 * Results of any length (issue 13): a video whose output is longer than V8's longest string
 * (536,870,888 characters), which the merge of old (the whole result JSON.stringify'd into
 * merged.json) failed with "Invalid string length". Tiny 32x32 frames through the phalp stand-in,
 * 20 people a frame with every phalp extra (about 3.3 kB of JSON per person and frame): 8,400
 * frames make ~558 MB. It must complete, validate against the schema (read in pieces: the file
 * cannot be one string either), and hold every frame with everyone in it, while the posepipe
 * process's memory stays far below the output's size.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { residentBytes } from '../../bench/lib.ts';
import { cliEnv, spawnCli } from '../helpers/cli.ts';
import { readValidOutputStreamed } from '../helpers/output.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

const PEOPLE = 20;
const FPS = 30;
const FRAMES = 8_400;
/** V8's longest string on Node 20: `"x".repeat(2 ** 29 - 24)` is the last that works. */
const MAX_STRING = 536_870_888;

let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

describe('an output longer than the longest string', () => {
  it(`${FRAMES} frames of ${PEOPLE} people with phalp-shaped extras: completes, validates, every frame and person is there`, async () => {
    ws = makeWorkspace('long-output');
    const video = join(ws.root, 'long.mp4');
    const made = spawnSync('ffmpeg', ['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=32x32:rate=${FPS}`, '-frames:v', String(FRAMES), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(FPS * 10), video], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const env = cliEnv(ws, { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_TEST_FIXTURE_PEOPLE: String(PEOPLE), POSEPIPE_TEST_FIXTURE_EXTRAS: 'phalp', POSEPIPE_CHUNK_SECONDS: '60', POSEPIPE_PREVIEW_SIZE: '0' });
    const run = spawnCli(['run', video], env);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, residentBytes(run.child.pid!))), 100);
    const r = await run.done.finally(() => clearInterval(sampler));
    expect(r.code, r.stderr.slice(-2000)).toBe(0);

    const file = join(ws.outbox, 'long.json');
    const bytes = statSync(file).size;
    // Longer than any string: the old merge could not have made it.
    expect(bytes).toBeGreaterThan(MAX_STRING);
    let next = 0;
    const { header, frames } = await readValidOutputStreamed(file, (frame) => {
      if (frame.index !== next || frame.persons.length !== PEOPLE) throw new Error(`frame ${next}: index ${frame.index}, ${frame.persons.length} persons`);
      next += 1;
    });
    expect(frames).toBe(FRAMES);
    expect(header.source.frameCount).toBe(FRAMES);
    expect(header.tracks).toEqual(Array.from({ length: PEOPLE }, (_, k) => ({ id: k + 1, firstFrame: 0, lastFrame: FRAMES - 1, frames: FRAMES })));
    // What the job folder keeps beside the chunk results is small: no merged frames file.
    const dir = join(ws.home, 'jobs', '1');
    expect(existsSync(join(dir, 'merged.json'))).toBe(false);
    expect(statSync(join(dir, 'merge.json')).size).toBeLessThan(100_000);
    expect(readdirSync(join(dir, 'player')).length).toBe(Math.ceil(FRAMES / 256) + 1);
    const workerPeaks = [...r.stderr.matchAll(/job 1: (\w+) took ([\d.]+) s in worker thread \d+, its peak (\d+) MiB/g)].map((m) => `${m[1]} ${m[2]} s, ${m[3]} MiB`);
    console.log(`long output: ${(bytes / 1e6).toFixed(0)} MB; posepipe peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB; worker: ${workerPeaks.join('; ')}`);
    // Memory does not grow with the output: far below its size (the old code peaked at ~19x it).
    expect(peak).toBeLessThan(1024 * 2 ** 20);
  }, 300_000);
});
