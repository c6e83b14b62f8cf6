/**
 * A one-time message for the next page a browser loads: why the action it just sent did not apply.
 * It travels in a short-lived cookie (HttpOnly, SameSite=Strict) across the redirect back, is shown
 * once above the page's `<main>` and cleared by that same response.
 */
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { ServerEnv } from './deps.ts';
import { overTls } from './over-tls.ts';

const COOKIE = 'posepipe_notice';
/** Long enough for the redirect to be followed; a notice never outlives a minute. */
const NOTICE_SECONDS = 60;
const MAX_CHARS = 600;

/** What the page calls the action a form path ends in (`/api/jobs/3/cancel` → "Cancel"). */
export function actionName(path: string): string {
  const last = path.split('/').filter(Boolean).at(-1) ?? 'action';
  const names: Record<string, string> = { priority: 'To front', pause: 'Pause intake', unpause: 'Unpause intake', rerun: 'Track again' };
  return names[last] ?? `${last[0]!.toUpperCase()}${last.slice(1)}`;
}

/** Leave `text` for the next page this browser loads. */
export function setNotice(c: Context<ServerEnv>, text: string): void {
  setCookie(c, COOKIE, encodeURIComponent(text.slice(0, MAX_CHARS)), { path: '/', httpOnly: true, sameSite: 'Strict', secure: overTls(c), maxAge: NOTICE_SECONDS });
}

/** The notice left for this page, if any, cleared as it is read (a fragment for the live update leaves it). */
export function takeNotice(c: Context<ServerEnv>): string | undefined {
  const raw = getCookie(c, COOKIE);
  if (raw === undefined) return undefined;
  deleteCookie(c, COOKIE, { path: '/', secure: overTls(c) });
  try {
    return decodeURIComponent(raw).slice(0, MAX_CHARS) || undefined;
  } catch {
    return undefined; // not one we wrote
  }
}
