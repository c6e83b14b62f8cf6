/**
 * The page's login: every route but the login page, the static scripts and the worker API needs an
 * operator or viewer credential, either `Authorization: Bearer <token>` (API clients, Prometheus)
 * or the session cookie the login page trades a token for. Without one, a browser asking for a
 * page is sent to the login page (303) and everything else gets 401 with nothing in it. Wrong
 * tokens are slowed per client (429); a viewer may read but not act (403). The worker API is left
 * to its own token: no page token acts as a worker, and the worker token logs into nothing here.
 */
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { overTls, socketOf } from '../over-tls.ts';
import type { ServerEnv } from '../deps.ts';
import { STATIC_PATHS } from '../static-routes.ts';
import { loginPage } from './login-page.ts';
import type { PageAuth } from './page-auth.ts';
import type { Who } from './role.ts';
import { readSession, roleOfToken, SESSION_SECONDS, signSession, type Session } from './sessions.ts';
import { clientKey } from './throttle.ts';

export { loginLines, loginNeeded, openPageAuth, PageAuth } from './page-auth.ts';
export type { Role, Who } from './role.ts';
export { loadToken, rotateToken, tokenFile } from './tokens.ts';

/** Routes anyone may reach: the login itself, and the scripts and icon, which are code, not data. */
const PUBLIC = new Set(['/login', '/logout', ...STATIC_PATHS]);
/** The worker API checks its own token (worker-routes.ts). */
const WORKER_PREFIX = '/worker/';
const READ_METHODS = new Set(['GET', 'HEAD']);
/** A login form is one token and a path: anything larger is not one. */
const MAX_FORM_BYTES = 8192;

/** The session cookie's name carries the port: cookies ignore ports, and two posepipes on one machine each keep their own. */
function cookieName(c: Context<ServerEnv>): string {
  const port = socketOf(c)?.localPort;
  return port ? `posepipe_session_${port}` : 'posepipe_session';
}

/**
 * Where a login may lead: a path of this site (not `//host`, not `/\host`, no scheme), with its
 * query; anything else, and the login and logout themselves, lead to the jobs list.
 */
export function safeNext(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length > 1000 || !/^\/(?![/\\])[\x21-\x7e]*$/.test(raw) || raw.includes('\\')) return '/';
  const base = 'http://posepipe.invalid';
  const url = new URL(raw, base);
  if (url.origin !== base || url.pathname === '/login' || url.pathname === '/logout') return '/';
  return url.pathname + url.search;
}

function sessionOf(c: Context<ServerEnv>, auth: PageAuth): Session | undefined {
  const session = readSession(getCookie(c, cookieName(c)), (role) => auth.token(role));
  return session && !auth.ended.has(session) ? session : undefined;
}

function wantsHtml(c: Context<ServerEnv>): boolean {
  return (c.req.header('accept') ?? '').includes('text/html');
}

function clientOf(c: Context<ServerEnv>): string {
  return clientKey(socketOf(c)?.remoteAddress);
}

/** A 401 that says how to log in and nothing else. */
function unauthorized(c: Context<ServerEnv>, message: string): Response {
  c.header('WWW-Authenticate', 'Bearer realm="posepipe"');
  c.header('Cache-Control', 'no-store');
  if (wantsHtml(c)) return c.html(loginPage({ next: '/', error: message }), 401);
  return c.json({ error: message }, 401);
}

function tooMany(c: Context<ServerEnv>, seconds: number): Response {
  c.header('Retry-After', String(seconds));
  c.header('Cache-Control', 'no-store');
  return c.json({ error: `Too many wrong tokens from this address: try again in ${seconds} s` }, 429);
}

/** Who sent this request: a Bearer token (right, wrong or throttled) or a session; undefined for neither. */
function identify(c: Context<ServerEnv>, auth: PageAuth): Who | Response | undefined {
  const header = c.req.header('authorization');
  if (header !== undefined) {
    const client = clientOf(c);
    const wait = auth.throttle.retryAfter(client);
    // Not even checked while throttled: a right guess must look the same as a wrong one.
    if (wait > 0) return tooMany(c, wait);
    const given = /^Bearer +(\S+) *$/i.exec(header)?.[1];
    const role = given === undefined ? undefined : roleOfToken(given, (r) => auth.token(r));
    if (role === undefined) {
      auth.throttle.fail(client);
      return unauthorized(c, 'That token is not right');
    }
    return { role, session: false };
  }
  const session = sessionOf(c, auth);
  return session ? { role: session.role, session: true } : undefined;
}

/** The middleware that asks for a login before every route but the public ones and the worker API. */
export function requireLogin(auth: PageAuth): MiddlewareHandler<ServerEnv> {
  return async (c, next) => {
    const path = c.req.path;
    if (PUBLIC.has(path) || path.startsWith(WORKER_PREFIX)) return next();
    const who = identify(c, auth);
    if (who instanceof Response) return who;
    if (who === undefined) {
      // A browser asking for a page goes to the login page and comes back here after; the page
      // script's fragment fetches get the 401 and reload.
      if (READ_METHODS.has(c.req.method) && wantsHtml(c) && c.req.header('x-posepipe-fragment') === undefined) {
        const url = new URL(c.req.url);
        c.header('Cache-Control', 'no-store');
        return c.redirect(`/login?next=${encodeURIComponent(safeNext(url.pathname + url.search))}`, 303);
      }
      return unauthorized(c, 'Log in first: send Authorization: Bearer <token> (posepipe token prints it), or log in at /login');
    }
    c.set('who', who);
    if (who.role === 'viewer' && !READ_METHODS.has(c.req.method)) {
      throw new HTTPException(403, { message: 'The read-only (viewer) token cannot change anything: log in with the operator token' });
    }
    await next();
  };
}

/** Check `token`; when right, set the session cookie and go to `next` (303), else the form again with why. */
function logIn(c: Context<ServerEnv>, auth: PageAuth, token: string, next: string): Response {
  c.header('Cache-Control', 'no-store');
  const client = clientOf(c);
  const wait = auth.throttle.retryAfter(client);
  if (wait > 0) {
    c.header('Retry-After', String(wait));
    return c.html(loginPage({ next, status: 429, error: `Too many wrong tokens from this address: try again in ${wait} s` }), 429);
  }
  const role = roleOfToken(token, (r) => auth.token(r));
  const current = role && auth.token(role);
  if (!role || !current) {
    auth.throttle.fail(client);
    c.header('WWW-Authenticate', 'Bearer realm="posepipe"');
    return c.html(loginPage({ next, error: 'That token is not right: check it (posepipe token prints it) and try again' }), 401);
  }
  const { value } = signSession(role, current);
  setCookie(c, cookieName(c), value, { path: '/', httpOnly: true, sameSite: 'Strict', secure: overTls(c), maxAge: SESSION_SECONDS });
  return c.redirect(next, 303);
}

/** The fields of a small url-encoded form; 413 beyond MAX_FORM_BYTES (checked before reading). */
async function smallForm(c: Context<ServerEnv>): Promise<URLSearchParams> {
  const length = Number(c.req.header('content-length'));
  if (!(length <= MAX_FORM_BYTES)) throw new HTTPException(413, { message: `A login form is at most ${MAX_FORM_BYTES} bytes, sent with its Content-Length` });
  if (!(c.req.header('content-type') ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) return new URLSearchParams();
  return new URLSearchParams(await c.req.text());
}

/** `GET /login` (the form, or `?token=` from a printed login address), `POST /login` (the form) and `POST /logout`. */
export function registerLogin(app: Hono<ServerEnv>, auth: PageAuth): void {
  app.get('/login', (c) => {
    const next = safeNext(c.req.query('next'));
    const token = c.req.query('token');
    // The token leaves the address bar with the redirect.
    if (token !== undefined) return logIn(c, auth, token, next);
    c.header('Cache-Control', 'no-store');
    if (sessionOf(c, auth)) return c.redirect(next, 303);
    return c.html(loginPage({ next }));
  });

  app.post('/login', async (c) => {
    const form = await smallForm(c);
    return logIn(c, auth, form.get('token') ?? '', safeNext(form.get('next') ?? undefined));
  });

  app.post('/logout', (c) => {
    const session = sessionOf(c, auth);
    if (session) auth.ended.end(session);
    deleteCookie(c, cookieName(c), { path: '/', httpOnly: true, sameSite: 'Strict', secure: overTls(c) });
    c.header('Cache-Control', 'no-store');
    return c.redirect('/login', 303);
  });
}
