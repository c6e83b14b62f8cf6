/**
 * Live updates over server-sent events: one shared poller of the database's change stamp for all
 * clients (started with the first, stopped with the last), a `change` event when it moves, and a
 * heartbeat comment so idle connections are not cut by proxies or the browser.
 */
import type { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
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

/** How long a client refused for want of a stream is asked to wait (seconds). */
const RETRY_AFTER_S = 30;

/** What the live-update route needs besides the feed. */
export interface EventsOptions {
  stamp: () => string;
  heartbeatMs: number;
  /** Streams served at once; one more is answered 503. */
  maxStreams: number;
  /** The server closes a connection silent this long: the heartbeat comes at least twice as often. */
  idleSeconds: number;
}

/**
 * `GET /api/events`: hello (with the current stamp), then `change` events and heartbeats until the
 * client goes. At most maxStreams at once, counted when the request arrives (a burst cannot all
 * pass before the first subscribes); beyond that a 503 with Retry-After, and the page still works
 * without live updates. No share per address: behind a proxy every viewer has the proxy's.
 */
export function registerEvents(app: Hono<ServerEnv>, feed: ChangeFeed, opts: EventsOptions): void {
  const heartbeatMs = Math.min(opts.heartbeatMs, (opts.idleSeconds * 1000) / 2);
  let open = 0;
  app.get('/api/events', (c) => {
    if (open >= opts.maxStreams) {
      c.header('Retry-After', String(RETRY_AFTER_S));
      throw new HTTPException(503, { message: `Too many live-update streams open (${opts.maxStreams}, maxLiveStreams): reload the page later for live updates` });
    }
    open++;
    c.header('X-Accel-Buffering', 'no');
    return streamSSE(c, async (stream) => {
      let unsubscribe = () => {};
      let beat: NodeJS.Timeout | undefined;
      try {
        unsubscribe = feed.subscribe((stamp) => void stream.writeSSE({ event: 'change', data: JSON.stringify({ stamp }) }));
        beat = setInterval(() => void stream.write(': heartbeat\n\n'), heartbeatMs);
        const gone = new Promise<void>((resolve) => stream.onAbort(resolve));
        await stream.writeSSE({ event: 'hello', data: JSON.stringify({ stamp: opts.stamp() }), retry: 3000 });
        if (!stream.aborted) await gone;
      } finally {
        open--;
        clearInterval(beat);
        unsubscribe();
      }
    });
  });
}
