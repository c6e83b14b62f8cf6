/**
 * The worker's client to its coordinator against a real HTTP server on port 0: transfers are cut
 * only when nothing moves for the idle limit, never for lasting long; extra headers reach the
 * server; a huge answer is dropped.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorClient } from '../../src/commands/coordinator-client.ts';

const IDLE_MS = 1500;
let server: Server;
let base: string;
let dir: string;
let handler: (req: IncomingMessage, res: ServerResponse) => void = () => {};
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'posepipe-client-'));
  server = createServer((req, res) => handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('CoordinatorClient', () => {
  const client = () => new CoordinatorClient(base, { token: 'token-0123456789abcdef', idleMs: IDLE_MS });

  it('downloads a body trickled over twice the idle limit, and cuts one that stops moving', async () => {
    const piece = Buffer.alloc(1024, 7);
    handler = async (req, res) => {
      res.writeHead(200);
      const stall = req.url === '/stall';
      for (let i = 0; i < 30; i++) {
        res.write(piece);
        await tick(stall && i === 2 ? IDLE_MS * 2 : 100);
        if (res.destroyed) return;
      }
      res.end();
    };
    const to = join(dir, 'sub', 'down.bin');
    const started = Date.now();
    await client().download('/slow', to);
    expect(Date.now() - started).toBeGreaterThan(IDLE_MS * 2 - 100);
    expect(readFileSync(to).equals(Buffer.concat(Array.from({ length: 30 }, () => piece)))).toBe(true);
    await expect(client().download('/stall', join(dir, 'stalled.bin'))).rejects.toThrow(/GET \/stall: nothing moved for 2 s; the coordinator does not answer/);
  });

  it('uploads a file read slowly by the server over twice the idle limit, with the extra headers; one the server stops reading is cut', async () => {
    const file = join(dir, 'up.bin');
    writeFileSync(file, Buffer.alloc(4 * 1024 * 1024, 3));
    let seen: { lease: string | undefined; auth: string | undefined; bytes: number } | undefined;
    handler = (req, res) => {
      let bytes = 0;
      // Wait 50 ms after every piece read: Node reads a socket 64 KiB at most at a time, so 4 MiB
      // take at least 64 pieces, over 3.2 s. /stall reads one piece, then nothing.
      const stall = req.url === '/stall';
      req.on('data', (part: Buffer) => {
        bytes += part.length;
        req.pause();
        if (!stall) setTimeout(() => req.resume(), 50);
      });
      req.on('end', () => {
        seen = { lease: req.headers['x-posepipe-lease'] as string | undefined, auth: req.headers.authorization, bytes };
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    };
    const started = Date.now();
    const answer = await client().upload('/up', file, { 'x-posepipe-lease': 'lease-1' });
    expect(Date.now() - started).toBeGreaterThan(IDLE_MS * 2 - 100);
    expect(answer).toEqual({ status: 200, body: { ok: true } });
    expect(seen).toEqual({ lease: 'lease-1', auth: 'Bearer token-0123456789abcdef', bytes: 4 * 1024 * 1024 });
    // Larger than the kernel's buffers can take: the upload itself stops moving.
    const big = join(dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(48 * 1024 * 1024, 1));
    await expect(client().upload('/stall', big, {})).rejects.toThrow(/PUT \/stall: nothing moved for 2 s/);
  });

  it('posts JSON with extra headers; a non-JSON answer is {}, an answer over 1 MiB is dropped', async () => {
    handler = (req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        if (req.url === '/huge') return void res.writeHead(200).end(Buffer.alloc(2 * 1024 * 1024, 0x20));
        if (req.url === '/text') return void res.writeHead(502).end('Bad gateway');
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ got: JSON.parse(text), lease: req.headers['x-posepipe-lease'] }));
      });
    };
    expect(await client().post('/echo', { frames: 3 }, undefined, { 'x-posepipe-lease': 'abc' })).toEqual({ status: 200, body: { got: { frames: 3 }, lease: 'abc' } });
    expect(await client().post('/text', {})).toEqual({ status: 502, body: {} });
    await expect(client().post('/huge', {})).rejects.toThrow(/answer is over 1048576 bytes/);
  });
});
