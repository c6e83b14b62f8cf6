/**
 * Limits every request lives within. A body is at most 64 KiB except on the two routes that stream
 * a file to disk under their own limits (page uploads, worker results): refused with 413 from its
 * Content-Length, or as soon as a chunked body passes the limit, never read whole into memory. At
 * the socket, time is limited by idleness, not in total: a slow transfer that keeps moving is
 * never cut, one that moves no byte for idleSeconds is.
 */
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { Config } from '../config.ts';
import type { ServerEnv } from './deps.ts';

/** The largest body a JSON route or a form takes (bytes). */
export const BODY_LIMIT = 64 * 1024;

/** Time a client has to send its request headers (slowloris): Node's own default, kept explicitly once the total limit is off. */
export const HEADERS_TIMEOUT_MS = 60_000;

/** Routes whose body is streamed to disk under limits of their own, matched exactly (a variant gets the small limit). */
const STREAMED: readonly (readonly [method: string, path: RegExp])[] = [
  ['POST', /^\/api\/upload$/],
  ['PUT', /^\/worker\/v1\/attempts\/\d{1,15}\/result$/],
];

/** The body-size middleware for every route but the streamed ones. */
export function bodyBound(): MiddlewareHandler<ServerEnv> {
  const limited = bodyLimit({
    maxSize: BODY_LIMIT,
    onError: (c) => {
      throw new HTTPException(413, { message: `The body of ${c.req.method} ${c.req.path.slice(0, 200)} is over ${BODY_LIMIT / 1024} KiB, the most it may be` });
    },
  });
  return (c, next) => {
    // A GET or HEAD body is never handed to a route (Node discards it): nothing to limit, and no
    // reason to build the request's body stream on every page view.
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    return STREAMED.some(([method, path]) => c.req.method === method && path.test(c.req.path)) ? next() : limited(c, next);
  };
}

/**
 * Replace Node's total request limit (300 s by default, which cuts any long upload) with an idle
 * one: a connection that moves no byte for idleSeconds is closed, unless its request has arrived
 * whole and the server is still working on the answer (that wait is ours, not the client's). Call
 * once, before the first connection.
 */
export function boundServer(server: HttpServer | HttpsServer, config: Pick<Config, 'idleSeconds'>): void {
  server.requestTimeout = 0;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  const current = new WeakMap<Socket, { req: IncomingMessage; res: ServerResponse }>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    current.set(socket, { req, res });
    res.once('close', () => {
      if (current.get(socket)?.res === res) current.delete(socket);
    });
  });
  server.setTimeout(config.idleSeconds * 1000, (socket: Socket) => {
    // After a busy spell of the event loop the timer fires before the bytes that arrived meanwhile
    // are read: look again once they have been (any byte moved re-arms the timer).
    const moved = socket.bytesRead + socket.bytesWritten;
    setImmediate(() => {
      if (socket.destroyed || socket.bytesRead + socket.bytesWritten !== moved) return;
      const active = current.get(socket);
      if (active && active.req.complete && !active.res.headersSent) return; // the next byte written re-arms the timer
      socket.destroy();
    });
  });
}
