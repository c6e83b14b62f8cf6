import { describe, expect, it } from 'vitest';
import type { PipelineEvent } from '../src/scheduler/index.ts';
import { createProgress } from '../src/progress.ts';

/** The screen a terminal shows after this output: handles \n, \r, ESC[2K (clear line) and ESC[1A (up). */
function screen(output: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  for (let i = 0; i < output.length; i++) {
    const ch = output[i]!;
    if (output.startsWith('\x1b[2K', i)) {
      lines[row] = '';
      i += 3;
    } else if (output.startsWith('\x1b[1A', i)) {
      row = Math.max(0, row - 1);
      i += 3;
    } else if (ch === '\r') col = 0;
    else if (ch === '\n') {
      row++;
      col = 0;
      if (lines.length <= row) lines.push('');
    } else {
      const l = lines[row]!.padEnd(col);
      lines[row] = l.slice(0, col) + ch + l.slice(col + 1);
      col++;
    }
  }
  return lines.filter((l, i) => l !== '' || i < row);
}

function run(isTTY: boolean, events: PipelineEvent[]): { raw: string; screens: string[][] } {
  let raw = '';
  const screens: string[][] = [];
  const show = createProgress({ write: (s: string) => (raw += s) }, isTTY);
  for (const e of events) {
    show(e);
    screens.push(screen(raw));
  }
  return { raw, screens };
}

const chunk = (idx: number, chunkFramesDone: number, state: 'running' | 'done' | 'retry' | 'failed'): PipelineEvent => ({
  type: 'chunk',
  jobId: 3,
  idx,
  chunks: 2,
  framesDone: idx * 50 + chunkFramesDone,
  frames: 100,
  chunkFramesDone,
  chunkFrames: 50,
  state,
});

const events: PipelineEvent[] = [
  { type: 'job', jobId: 3, name: 'clip\u202E.mp4', state: 'running' },
  { type: 'stage', jobId: 3, stage: 'track', state: 'running' },
  chunk(0, 25, 'running'),
  chunk(0, 50, 'done'),
  chunk(1, 10, 'retry'),
  chunk(1, 40, 'running'),
  chunk(1, 50, 'done'),
  { type: 'stage', jobId: 3, stage: 'track', state: 'done' },
  { type: 'job', jobId: 3, name: 'clip\u202E.mp4', state: 'done' },
];

describe('progress display', () => {
  it('draws a job bar and a chunk bar in place on a terminal, with finished steps above them', () => {
    const { screens } = run(true, events);
    // Halfway through chunk 1 of 2: the job's bar and the chunk's bar, two lines, nothing else live.
    expect(screens[2]).toEqual([
      'job 3 "clip\\u202e.mp4": preparing',
      'job 3 "clip\\u202e.mp4" [######------------------] 25/100 frames',
      '  chunk 1/2 [############------------] 25/50',
    ]);
    // A retry is printed above the live block, which is redrawn below it.
    expect(screens[5]).toEqual([
      'job 3 "clip\\u202e.mp4": preparing',
      'job 3 track: chunk 2/2 failed, retrying',
      'job 3 "clip\\u202e.mp4" [######################--] 90/100 frames',
      '  chunk 2/2 [###################-----] 40/50',
    ]);
    // At the end, no bar is left behind.
    expect(screens.at(-1)).toEqual(['job 3 "clip\\u202e.mp4": preparing', 'job 3 track: chunk 2/2 failed, retrying', 'job 3 track: done', 'job 3 "clip\\u202e.mp4": done']);
  });

  it('writes plain lines without escape codes when not on a terminal', () => {
    const { raw } = run(false, events);
    expect(raw).not.toMatch(/\x1b|\r/);
    expect(raw.split('\n')).toEqual([
      'job 3 "clip\\u202e.mp4": preparing',
      'job 3 track: chunk 1/2 done, 50/100 frames',
      'job 3 track: chunk 2/2 failed, retrying',
      'job 3 track: chunk 2/2 done, 100/100 frames',
      'job 3 track: done',
      'job 3 "clip\\u202e.mp4": done',
      '',
    ]);
  });
});
