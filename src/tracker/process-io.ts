/** Reading a child process: its output as lines, its resident memory from /proc. */
import { readFileSync } from 'node:fs';

/** Split a stream into lines; a line longer than `limit` is cut (reported once through onOverflow). */
export function readLines(stream: NodeJS.ReadableStream, limit: number, onLine: (line: string) => void, onOverflow: (why: string) => void): void {
  let buffer = '';
  let skipping = false;
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      if (skipping) skipping = false;
      else onLine(line.length > limit ? line.slice(0, limit) : line);
    }
    if (buffer.length > limit) {
      if (!skipping) onOverflow(`line longer than ${limit} characters dropped`);
      onLine(buffer.slice(0, limit));
      buffer = '';
      skipping = true;
    }
  });
  stream.on('end', () => {
    if (buffer !== '' && !skipping) onLine(buffer);
    buffer = '';
  });
}

/** VmRSS of a process from /proc (Linux); undefined where it cannot be read (other systems, a zombie). */
export function readRssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
