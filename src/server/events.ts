/**
 * Live updates over server-sent events: one shared poller of the database's change stamp for all
 * clients (started with the first, stopped with the last), a `change` event when it moves, and a
 * heartbeat comment so idle connections are not cut by proxies or the browser.
 */
import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ServerEnv } from './deps.ts';

/** A change stamp watched for every live client at once: reading it costs one pragma, not a table scan. */
export class ChangeFeed {
  readonly #read: () => string;
  readonly #pollMs: number;
  readonly #listeners = new Set<{ fn: (stamp: string) => void }>();
  #timer: NodeJS.Timeout | undefined;
  #stamp = '';

  constructor(read: () => string, pollMs: number) {
    this.#read = read;
    this.#pollMs = pollMs;
  }

  /** How many clients listen now (a gauge in /metrics). */
  get clients(): number {
    return this.#listeners.size;
  }

  /** Whether the poller runs (only while someone listens). */
  get polling(): boolean {
    return this.#timer !== undefined;
  }

  /** Call `fn` with the new stamp after every change; returns the unsubscribe function. */
  subscribe(fn: (stamp: string) => void): () => void {
    const entry = { fn };
    if (this.#listeners.size === 0) {
      this.#stamp = this.#read();
      this.#timer = setInterval(() => this.#poll(), this.#pollMs);
      // Listening clients keep the server's sockets open anyway; the timer must not keep a process alive.
      this.#timer.unref();
    }
    this.#listeners.add(entry);
    return () => {
      if (!this.#listeners.delete(entry) || this.#listeners.size > 0) return;
      clearInterval(this.#timer);
      this.#timer = undefined;
    };
  }

  #poll(): void {
    let stamp: string;
    try {
      stamp = this.#read();
    } catch {
      return; // the database is closing: the clients go with the server
    }
    if (stamp === this.#stamp) return;
    this.#stamp = stamp;
    for (const l of [...this.#listeners]) l.fn(stamp);
  }
}

/** `GET /api/events`: hello (with the current stamp), then `change` events and heartbeats until the client goes. */
export function registerEvents(app: Hono<ServerEnv>, feed: ChangeFeed, opts: { stamp: () => string; heartbeatMs: number }): void {
  app.get('/api/events', (c) => {
    c.header('X-Accel-Buffering', 'no');
    return streamSSE(c, async (stream) => {
      const unsubscribe = feed.subscribe((stamp) => void stream.writeSSE({ event: 'change', data: JSON.stringify({ stamp }) }));
      const beat = setInterval(() => void stream.write(': heartbeat\n\n'), opts.heartbeatMs);
      try {
        const gone = new Promise<void>((resolve) => stream.onAbort(resolve));
        await stream.writeSSE({ event: 'hello', data: JSON.stringify({ stamp: opts.stamp() }), retry: 3000 });
        if (!stream.aborted) await gone;
      } finally {
        clearInterval(beat);
        unsubscribe();
      }
    });
  });
}
