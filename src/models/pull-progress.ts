import { formatBytes } from '../disk.ts';
import { bar, terminalSafe } from '../progress.ts';

/** Where pull and list write: process.stdout, or any stream a test hands in. */
export interface TextOut {
  write(text: string): unknown;
  /** A terminal gets a live bar per file; anything else gets plain lines only. */
  isTTY?: boolean;
}

/** The progress of the file being fetched. */
export interface FileProgress {
  /** Bytes in the part so far, and the total when the server said it. */
  bytes(done: number, total: number | undefined): void;
  /** A line above the bar: a retry, a corrupt file found. */
  note(text: string): void;
  /** The file's last line; the bar goes away. */
  finish(text: string): void;
}

const CLEAR_LINE = '\r\x1b[2K';
const REDRAW_MS = 100;

/**
 * Progress of a pull. On a terminal: one bar line per file (bytes done / total, rate), redrawn in
 * place at most ten times a second, and replaced by the file's result. Elsewhere: only the notes and
 * one plain line per finished file, so logs stay readable. Every line is made terminal-safe.
 */
export function createPullProgress(out: TextOut): { line(text: string): void; file(label: string): FileProgress } {
  const tty = out.isTTY === true;
  let live = false;
  const clear = () => {
    if (live) out.write(CLEAR_LINE);
    live = false;
  };
  const line = (text: string) => {
    clear();
    out.write(`${terminalSafe(text)}\n`);
  };
  const file = (label: string): FileProgress => {
    let drawnAt = 0;
    // The rate counts this run's bytes only, not what an earlier run left in the part.
    let first: { at: number; done: number } | undefined;
    return {
      bytes(done, total) {
        if (!tty) return;
        const now = Date.now();
        first ??= { at: now, done };
        if (now - drawnAt < REDRAW_MS && done !== total) return;
        drawnAt = now;
        const seconds = (now - first.at) / 1000;
        const rate = seconds > 0.2 ? `  ${formatBytes((done - first.done) / seconds)}/s` : '';
        const amount = total === undefined ? formatBytes(done) : `${bar(done, total)} ${formatBytes(done)} / ${formatBytes(total)}`;
        clear();
        out.write(terminalSafe(`${label} ${amount}${rate}`));
        live = true;
      },
      note: line,
      finish: line,
    };
  };
  return { line, file };
}
