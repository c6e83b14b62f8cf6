import type { PipelineEvent } from './scheduler/index.ts';
import { chunkNumber } from './chunk-number.ts';

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffd"\\]/;
const UNSAFE_ALL = /[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffd]/g;

/**
 * Show a file name safely on a terminal: a name with control, bidi or replacement characters is
 * quoted and every such character escaped (JSON.stringify alone leaves U+202E and C1 controls raw).
 */
export function displayName(name: string): string {
  if (!UNSAFE.test(name)) return name;
  return JSON.stringify(name).replace(UNSAFE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Make any text safe for a terminal line: control and bidi characters become \\u escapes. */
export function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A text progress bar, `[######------]`, `width` cells between the brackets. */
export function bar(done: number, total: number, width = 24): string {
  const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

const CLEAR_LINE = '\r\x1b[2K';
const UP = '\x1b[1A';

/**
 * Render pipeline events. On a terminal: a live block of two progress bars, the job's (all its
 * frames) and the current chunk's, redrawn in place, with finished steps printed above it. Elsewhere
 * (logs, pipes): one plain line per finished step, no escape codes.
 */
export function createProgress(out: { write(s: string): unknown }, isTTY: boolean): (event: PipelineEvent) => void {
  let block: string[] = [];
  const erase = () => {
    if (block.length === 0) return;
    out.write(CLEAR_LINE + `${UP}${CLEAR_LINE}`.repeat(block.length - 1));
    block = [];
  };
  const draw = (lines: string[]) => {
    erase();
    out.write(lines.map(terminalSafe).join('\n'));
    block = lines;
  };
  const line = (s: string) => {
    const live = block;
    erase();
    out.write(`${terminalSafe(s)}\n`);
    if (live.length) draw(live);
  };
  const names = new Map<number, string>();
  return (e) => {
    const job = `job ${e.jobId}`;
    switch (e.type) {
      case 'job':
        names.set(e.jobId, displayName(e.name));
        if (e.state !== 'running') erase();
        if (e.state === 'running') line(`${job} ${displayName(e.name)}: preparing`); // taken from the queue: copied, probed and chunked until a slot tracks it
        else if (e.state === 'done') line(`${job} ${displayName(e.name)}: done`);
        else if (e.state === 'cancelled') line(`${job} ${displayName(e.name)}: cancelled`);
        else line(`${job} ${displayName(e.name)}: FAILED: ${e.message ?? ''}`);
        return;
      case 'stage':
        if (e.state === 'done') line(`${job} ${e.stage}: done`);
        else if (e.state === 'running' && isTTY) draw([`${job} ${names.get(e.jobId) ?? ''} ${e.stage}…`]);
        return;
      case 'chunk': {
        const label = `chunk ${chunkNumber(e.idx)}/${e.chunks}`;
        if (e.state === 'running' || (e.state === 'done' && isTTY)) {
          if (!isTTY) return;
          draw([
            `${job} ${names.get(e.jobId) ?? ''} ${bar(e.framesDone, e.frames)} ${e.framesDone}/${e.frames} frames`,
            `  ${label} ${bar(e.chunkFramesDone, e.chunkFrames)} ${e.chunkFramesDone}/${e.chunkFrames}`,
          ]);
        } else if (e.state === 'done') line(`${job} track: ${label} done, ${e.framesDone}/${e.frames} frames`);
        else line(`${job} track: ${label} ${e.state === 'retry' ? 'failed, retrying' : 'FAILED'}`);
      }
    }
  };
}
