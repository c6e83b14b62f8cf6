/**
 * boundServer on a real Node HTTP server: Node's total request limit (300 s by default) cut any
 * transfer longer than that, however steadily it moved. Waiting 300 s is not a test, so the server
 * here starts with a 1 s total checked every 100 ms, as Node's own would be at 300 s, and
 * boundServer must replace it with the idle limit.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { boundServer, HEADERS_TIMEOUT_MS } from '../../src/server/bounds.ts';
import { Cut, paced, sendPieces } from '../helpers/http-send.ts';
import { startHarness } from './harness.ts';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

/** A server that counts the body's bytes, or on /think takes `thinkMs` to answer once it has the body. */
async function listen(thinkMs: number, bound: boolean): Promise<number> {
  server = createServer({ requestTimeout: 1000, headersTimeout: 500, connectionsCheckingInterval: 100 }, (req, res) => {
    let bytes = 0;
    req.on('data', (d: Buffer) => (bytes += d.length));
    req.on('end', () => {
      const answer = () => res.end(String(bytes));
      if (req.url === '/think') setTimeout(answer, thinkMs); // the server's own work, not the client's silence
      else answer();
    });
  });
  if (bound) boundServer(server, { idleSeconds: 1 });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

describe('boundServer', () => {
  it('lets a slow body that keeps moving outlast the total limit, and cuts one that stalls for idleSeconds', async () => {
    const port = await listen(0, true);
    expect([server!.requestTimeout, server!.headersTimeout]).toEqual([0, HEADERS_TIMEOUT_MS]);
    // 12 pieces a quarter of a second apart: 2.75 s, almost three times the 1 s total.
    const slow = await sendPieces(port, '/', { pieces: paced(12, 1000, 250) });
    expect([slow.status, slow.body]).toEqual([200, '12000']);

    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    async function* stalled(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(1000);
      await held;
    }
    const cut = await sendPieces(port, '/', { pieces: stalled() }).catch((e: unknown) => e);
    release();
    expect(cut).toBeInstanceOf(Cut);
    expect((cut as Cut).afterMs).toBeGreaterThanOrEqual(900);
    expect((cut as Cut).afterMs).toBeLessThan(5000);
  });

  it('does not count the time the server takes to answer a request it has whole as the client idling', async () => {
    const port = await listen(2500, true);
    const answer = await sendPieces(port, '/think', { pieces: [Buffer.alloc(10)] });
    expect([answer.status, answer.body]).toEqual([200, '10']);
  });

  it('is what stands between a slow body and the total limit (without it, 408)', async () => {
    const port = await listen(0, false);
    const slow = await sendPieces(port, '/', { pieces: paced(12, 1000, 250) }).catch((e: unknown) => e);
    expect((slow as { status?: number }).status).toBe(408);
  });
});

describe('the body limit', () => {
  it('covers every route but the two streamed ones, matched exactly', async () => {
    const h = await startHarness();
    try {
      const big = () => [Buffer.alloc(100 * 1024, 0x7b)];
      const status = async (method: string, path: string) => (await sendPieces(h.server.port, path, { method, headers: { 'content-type': 'application/json' }, pieces: big() })).status;
      expect(await status('POST', '/worker/v1/claim')).toBe(413);
      expect(await status('POST', '/worker/v1/attempts/7/progress')).toBe(413);
      expect(await status('POST', '/api/jobs/1/cancel')).toBe(413);
      expect(await status('POST', '/nowhere')).toBe(413);
      expect(await status('PUT', '/worker/v1/attempts/7/result/')).toBe(413);
      expect(await status('POST', '/worker/v1/attempts/7/result')).toBe(413);
      // Streamed: past the limit, to the route (no worker routes without a Redis queue: 404).
      expect(await status('PUT', '/worker/v1/attempts/7/result')).toBe(404);
      expect(await status('POST', '/api/upload?name=big.mp4')).toBe(201);
    } finally {
      await h.stop();
    }
  });
});
