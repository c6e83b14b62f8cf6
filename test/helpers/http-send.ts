/**
 * A raw HTTP client for probes that a browser or fetch would not send as asked: a body streamed
 * piece by piece (from a generator, never held whole), paced or stalled, over its own connection,
 * stopping as soon as the server answers.
 */
import { request, type IncomingHttpHeaders } from 'node:http';

/** What the server answered, and how many body bytes had been written by then. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  written: number;
}

/** A request that failed before any answer (the connection was cut), with the bytes written before. */
export class Cut extends Error {
  constructor(
    readonly reason: Error,
    readonly written: number,
    readonly afterMs: number,
  ) {
    super(`connection cut after ${written} bytes, ${afterMs} ms: ${reason.message}`);
  }
}

/**
 * Send `pieces` as the body of a request to 127.0.0.1:`port` (chunked unless a content-length
 * header is given), respecting backpressure; resolves with the answer, or rejects with Cut.
 */
export function sendPieces(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; pieces: Iterable<Buffer> | AsyncIterable<Buffer> },
): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const req = request(
      // Keep-alive, as curl and browsers send: a server closes at once after answering a request that
      // says `Connection: close`, and a sender still writing then sees EPIPE instead of the answer.
      { host: '127.0.0.1', port, path, method: opts.method ?? 'POST', agent: false, headers: { host: `127.0.0.1:${port}`, connection: 'keep-alive', ...opts.headers } },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', () => {});
        res.on('close', () => {
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), written });
          req.destroy();
        });
      },
    );
    const closed = new Promise<void>((r) => req.once('close', () => r()));
    req.on('error', (error) => {
      if (!answered) reject(new Cut(error, written, Date.now() - started));
    });
    void (async () => {
      for await (const piece of opts.pieces) {
        if (answered || req.destroyed) return;
        written += piece.length;
        if (!req.write(piece)) await Promise.race([new Promise((r) => req.once('drain', r)), closed]);
      }
      if (!answered && !req.destroyed) req.end();
    })().catch(() => {});
  });
}

/** `count` pieces of `size` bytes, one every `everyMs` (a client throttled to that rate). */
export async function* paced(count: number, size: number, everyMs: number, fill = 0x61): AsyncGenerator<Buffer> {
  for (let i = 0; i < count; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, everyMs)); // the throttle itself, not a wait for a condition
    yield Buffer.alloc(size, fill + (i % 26));
  }
}
