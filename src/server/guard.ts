/**
 * The checks every request passes before routing: the Host header must be one this server
 * answers to (a DNS-rebinding page sends its own name), and an unsafe method must come from this
 * origin, whatever its content type and with or without a body (Hono's csrf() checks neither).
 * Every response, errors included, carries the security headers.
 */
import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ServerEnv } from './deps.ts';
import { overTls } from './over-tls.ts';

/** Scripts only from our own file, fetches only to ourselves, inline styles, nothing else. */
export const CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self'; media-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function securityHeaders(set: (name: string, value: string) => void): void {
  set('Content-Security-Policy', CSP);
  set('X-Content-Type-Options', 'nosniff');
  // Not no-referrer: under it Chromium sends `Origin: null` on the page's own form POSTs, which the
  // cross-site check must refuse (a sandboxed frame sends null too). Other sites still get nothing.
  set('Referrer-Policy', 'same-origin');
  set('X-Frame-Options', 'DENY');
}

/** The guard middleware, with the allowed Host values read on each request (the port is known only once listening). */
export function guard(allowedHosts: () => string[]): MiddlewareHandler<ServerEnv> {
  return async (c, next) => {
    // Set before the checks too, so a refusal carries them.
    securityHeaders((n, v) => c.header(n, v));
    const host = c.req.header('host') ?? '';
    if (!allowedHosts().includes(host.toLowerCase())) throw new HTTPException(403, { message: `Host ${JSON.stringify(host.slice(0, 100))} is not served here` });
    if (UNSAFE.has(c.req.method)) {
      const site = c.req.header('sec-fetch-site');
      const origin = c.req.header('origin');
      const sameOrigin = origin !== undefined ? origin.toLowerCase() === `${overTls(c) ? 'https' : 'http'}://${host.toLowerCase()}` : site === undefined || site === 'same-origin' || site === 'none';
      if (!sameOrigin || (site !== undefined && site !== 'same-origin' && site !== 'none')) throw new HTTPException(403, { message: 'Cross-site request refused' });
    }
    await next();
    securityHeaders((n, v) => c.header(n, v));
  };
}
