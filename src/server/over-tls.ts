/** Whether a request reached us over TLS, from its socket (Hono's URL may say http behind @hono/node-server's https server). */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Context } from 'hono';

/** The request's socket, when served by @hono/node-server. */
export function socketOf(c: Context): TLSSocket | undefined {
  return ((c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket as TLSSocket | undefined) ?? undefined;
}

/** Whether this request came over TLS. */
export function overTls(c: Context): boolean {
  const socket = socketOf(c);
  return socket ? socket.encrypted === true : new URL(c.req.url).protocol === 'https:';
}
