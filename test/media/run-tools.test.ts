/**
 * The CPU steps yield to the tracker slots: every ffmpeg and every decoding ffprobe posepipe spawns
 * runs CPU_STEP_NICENESS below posepipe's own priority. Read from
 * the running processes' /proc entries (Linux), so it is the real process that is checked.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { CPU_STEP_NICENESS, runFfmpeg, runFfmpegToBuffer } from '../../src/media/run-tools.ts';
import { fixture } from '../helpers/fixtures.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

/** The niceness of the first running process whose command line holds `marker`, once one runs. */
async function nicenessOf(marker: string, done: () => boolean): Promise<number | undefined> {
  while (!done()) {
    for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
      try {
        // ffmpeg itself, not a wrapper process.
        if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker) || readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'ffmpeg') continue;
        // Field 19 of stat is the niceness; the command name (field 2) may hold spaces, so count after its ")".
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      } catch {
        // gone meanwhile
      }
    }
    await sleep(20);
  }
  return undefined;
}

describe('ffmpeg and ffprobe yield the CPU to the trackers', () => {
  it('runs ffmpeg for chunks and previews, and for frames to a buffer, below posepipe\'s priority', async () => {
    ws = makeWorkspace('run-tools-nice');
    const expected = Math.min(19, getPriority() + CPU_STEP_NICENESS);
    // The realtime filter makes 2 s of the fixture take 2 s, time enough to look at the process.
    const marker = `nice-check-${process.pid}.nut`;
    let finished = false;
    const run = runFfmpeg({ cwd: ws.root, input: fixture('small.mp4'), output: marker, outputOptions: ['-t', '2', '-vf', 'realtime', '-c:v', 'rawvideo', '-f', 'nut'] }).finally(() => (finished = true));
    const seen = await nicenessOf(marker, () => finished);
    await run;
    expect(seen).toBe(expected);

    // runFfmpegToBuffer: a frame or a picture read into memory.
    let done = false;
    const buffered = runFfmpegToBuffer(['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=64x64:rate=25:duration=2,realtime`, '-metadata', `title=${marker}`, '-f', 'nut', '-'], 64 * 1024 * 1024).finally(() => (done = true));
    const seenOwn = await nicenessOf(`title=${marker}`, () => done);
    expect((await buffered).length).toBeGreaterThan(0);
    expect(seenOwn).toBe(expected);
  }, 30_000);
});
