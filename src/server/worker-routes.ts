/**
 * The coordinator's endpoints for remote `posepipe worker`s (issue 11): say hello (the slots'
 * health), claim an offer, download the attempt's input files, report progress or a failure, upload
 * the result. They need the worker token (Authorization: Bearer, compared in constant time) whenever
 * one is set, and posepipe refuses to listen beyond loopback without one. Files are found through
 * the attempt the coordinator holds, never from a path in the request.
 *
 * Every call for an attempt (files, progress, failed, result) must also carry the attempt's lease,
 * the secret its claim was answered with, as `x-posepipe-lease`; it is checked before the body is
 * read. Without the right lease the answer is 403 for any attempt id, current, ended or never
 * claimed, so the worker token alone reveals nothing of other workers' attempts; with it, an
 * attempt that is no longer current answers 409.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { RemoteDispatch, WorkerAnswer } from '../scheduler/index.ts';
import type { ServerEnv } from './deps.ts';

/** Whether the Authorization header carries `token` (digests compared, so neither length nor content leaks through timing). */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer (\S+)$/.exec(header ?? '')?.[1] ?? '';
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b) && given.length > 0;
}

/** An attempt id from the path: digits only, or 404 (a path-like or out-of-range id never reaches a lookup). */
function attemptId(c: Context<ServerEnv>): number {
  const raw = c.req.param('id') ?? '';
  if (!/^\d{1,15}$/.test(raw)) throw new HTTPException(404, { message: `No attempt ${JSON.stringify(raw.slice(0, 40))}` });
  return Number(raw);
}

function reply(c: Context<ServerEnv>, a: WorkerAnswer): Response {
  return c.json(a.body, a.status);
}

async function jsonBody(c: Context<ServerEnv>): Promise<Record<string, unknown>> {
  try {
    const body = (await c.req.json()) as unknown;
    if (body && typeof body === 'object' && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new HTTPException(400, { message: 'The body must be a JSON object' });
}

/** Register /worker/v1/… for `remote`; `token` ('' for none) guards them all. */
export function registerWorkerRoutes(app: Hono<ServerEnv>, remote: RemoteDispatch, token: string): void {
  app.use('/worker/*', async (c, next) => {
    if (token !== '' && !tokenMatches(c.req.header('authorization'), token)) {
      c.header('WWW-Authenticate', 'Bearer realm="posepipe workers"');
      throw new HTTPException(401, { message: 'A worker token is needed (POSEPIPE_WORKER_TOKEN, the same as the coordinator\'s)' });
    }
    await next();
  });

  app.use('/worker/v1/attempts/:id/*', async (c, next) => {
    const id = attemptId(c);
    const lease = remote.leaseCheck(id, c.req.header('x-posepipe-lease'));
    if (lease === 'refused') throw new HTTPException(403, { message: `Attempt ${id}: its lease (x-posepipe-lease, from the claim) is needed` });
    if (lease === 'ended') return c.json({ error: `attempt ${id} is not current` }, 409);
    await next();
  });

  app.post('/worker/v1/claim', async (c) => {
    const body = await jsonBody(c);
    return reply(c, await remote.claim(body.offer, body.worker));
  });

  app.post('/worker/v1/hello', async (c) => reply(c, remote.hello((await jsonBody(c)).slots)));

  app.get('/worker/v1/attempts/:id/files/:n', (c) => {
    const id = attemptId(c);
    const n = c.req.param('n');
    const path = /^\d{1,3}$/.test(n) ? remote.file(id, Number(n)) : undefined;
    if (!path) throw new HTTPException(404, { message: `Attempt ${id} is not current or has no input ${JSON.stringify(n.slice(0, 20))}` });
    c.header('Content-Type', 'application/octet-stream');
    c.header('Content-Length', String(statSync(path).size));
    return c.body(Readable.toWeb(createReadStream(path)) as ReadableStream);
  });

  app.post('/worker/v1/attempts/:id/progress', async (c) => {
    const id = attemptId(c);
    return reply(c, remote.progress(id, (await jsonBody(c)).frames));
  });

  app.post('/worker/v1/attempts/:id/failed', async (c) => {
    const id = attemptId(c);
    return reply(c, remote.failed(id, await jsonBody(c)));
  });

  app.put('/worker/v1/attempts/:id/result', async (c) => {
    const id = attemptId(c);
    const ms = Number(c.req.header('x-posepipe-tracker-ms'));
    const body = c.req.raw.body ? Readable.fromWeb(c.req.raw.body as import('node:stream/web').ReadableStream) : null;
    const length = c.req.header('content-length');
    return reply(c, await remote.result(id, body, c.req.header('x-posepipe-sha256'), ms, length !== undefined && /^\d{1,16}$/.test(length) ? Number(length) : undefined));
  });
}
