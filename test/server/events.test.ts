import { request, type ClientRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/index.ts';
import { ChangeFeed } from '../../src/server/events.ts';
import { makeWorkspace, waitFor } from '../helpers/workspace.ts';
import { startHarness, type Harness } from './harness.ts';
import { queuedJob } from './seed.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** An open event stream: its response headers and everything received so far. */
interface Stream {
  headers: Record<string, string | string[] | undefined>;
  status: number;
  text(): string;
  /** The data of every event of this type received so far. */
  events(type: string): unknown[];
  close(): void;
}

function openStream(port: number, headers: Record<string, string> = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    let text = '';
    const req: ClientRequest = request({ host: '127.0.0.1', port, path: '/api/events', headers: { host: `127.0.0.1:${port}`, accept: 'text/event-stream', ...headers } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('error', () => {});
      resolve({
        headers: res.headers,
        status: res.statusCode!,
        text: () => text,
        events: (type) =>
          text
            .split('\n\n')
            .filter((block) => block.split('\n').includes(`event: ${type}`))
            .map((block) => JSON.parse(block.split('\n').find((l) => l.startsWith('data: '))!.slice(6)) as unknown),
        close: () => req.destroy(),
      });
    });
    req.on('error', (e) => (text ? undefined : reject(e)));
    req.end();
  });
}

const liveClients = async (harness: Harness) => Number(/^posepipe_live_clients (\d+)$/m.exec((await harness.send('/metrics')).body)![1]);

describe('live updates', () => {
  it('says hello with the stamp the page carries, then sends a change event when the database changes', async () => {
    h = await startHarness({ pollMs: 20 });
    const page = await h.send('/');
    const pageStamp = /<meta name="posepipe-stamp" content="([^"]*)">/.exec(page.body)![1]!;
    const stream = await openStream(h.server.port);
    expect([stream.status, stream.headers['content-type'], stream.headers['cache-control']]).toEqual([200, 'text/event-stream', 'no-cache']);
    expect(stream.headers['content-security-policy']).toContain("connect-src 'self'");
    const [hello] = await waitFor('hello event', () => (stream.events('hello').length ? stream.events('hello') : undefined));
    expect(hello).toEqual({ stamp: pageStamp });
    expect(stream.events('change')).toEqual([]);

    queuedJob(h.db);
    const [change] = await waitFor('change event', () => (stream.events('change').length ? stream.events('change') : undefined));
    const stamp = (change as { stamp: string }).stamp;
    expect(stamp).not.toBe(pageStamp);
    // A fragment read now carries the stamp the change announced: the script then stops fetching.
    const fragment = await h.send('/', { headers: { 'x-posepipe-fragment': '1' } });
    expect(fragment.headers['x-posepipe-stamp']).toBe(stamp);
    expect(fragment.headers.vary).toContain('X-Posepipe-Fragment');
    stream.close();
  });

  it('sees changes another process commits to the same database file', async () => {
    h = await startHarness({ pollMs: 20 });
    const stream = await openStream(h.server.port);
    await waitFor('hello event', () => (stream.events('hello').length ? true : undefined));
    const other = openDb(h.ws.home);
    try {
      other.setIntakePaused(true);
    } finally {
      other.close();
    }
    await waitFor('change event from another connection', () => (stream.events('change').length ? true : undefined));
    stream.close();
  });

  it('sends a heartbeat comment so idle connections stay open', async () => {
    h = await startHarness({ heartbeatMs: 30, pollMs: 1000 });
    const stream = await openStream(h.server.port);
    await waitFor('two heartbeats', () => ((stream.text().match(/^: heartbeat$/gm) ?? []).length >= 2 ? true : undefined));
    expect(stream.events('change')).toEqual([]);
    stream.close();
  });

  it('forgets clients that go away (one shared poller for all)', async () => {
    h = await startHarness({ pollMs: 20 });
    const a = await openStream(h.server.port);
    const b = await openStream(h.server.port);
    await waitFor('both connected', async () => ((await liveClients(h!)) === 2 ? true : undefined));
    a.close();
    await waitFor('one client left', async () => ((await liveClients(h!)) === 1 ? true : undefined));
    // The one left still gets changes.
    queuedJob(h.db);
    await waitFor('change for the remaining client', () => (b.events('change').length ? true : undefined));
    b.close();
    await waitFor('no clients left', async () => ((await liveClients(h!)) === 0 ? true : undefined));
  });

  it('refuses the stream to a foreign Host', async () => {
    h = await startHarness();
    const r = await h.send('/api/events', { headers: { host: 'evil.example' } });
    expect(r.status).toBe(403);
  });
});

describe('ChangeFeed', () => {
  it('polls only while someone listens and tells every listener of each change', async () => {
    const ws = makeWorkspace('feed');
    const db = openDb(ws.home);
    try {
      const feed = new ChangeFeed(() => db.changeStamp(), 10);
      expect(feed.polling).toBe(false);
      const seen: string[][] = [[], []];
      const stopA = feed.subscribe((s) => seen[0]!.push(s));
      const stopB = feed.subscribe((s) => seen[1]!.push(s));
      expect([feed.polling, feed.clients]).toEqual([true, 2]);
      db.setIntakePaused(true);
      await waitFor('both told', () => (seen[0]!.length && seen[1]!.length ? true : undefined));
      expect(seen[0]).toEqual([db.changeStamp()]);
      expect(seen[1]).toEqual(seen[0]);
      stopA();
      stopA(); // twice is harmless
      expect([feed.polling, feed.clients]).toEqual([true, 1]);
      stopB();
      expect([feed.polling, feed.clients]).toEqual([false, 0]);
      // Started again by the next listener, from the current stamp (no stale change).
      const later: string[] = [];
      const stopC = feed.subscribe((s) => later.push(s));
      expect(feed.polling).toBe(true);
      db.setIntakePaused(false);
      await waitFor('told after restart', () => (later.length ? true : undefined));
      expect(later).toEqual([db.changeStamp()]);
      stopC();
      expect(feed.polling).toBe(false);
    } finally {
      db.close();
      ws.cleanup();
    }
  });
});
