/**
 * Reading what comes in a URL or a form: ids, pages, state filters and the page to go back to.
 * Everything is checked against a strict pattern here, so routes never see a path-like value.
 */
import { HTTPException } from 'hono/http-exception';
import { JOB_SORTS, JOB_STATES, STEP_STATES, type JobSort, type JobState, type StepState } from '../db/index.ts';

/** A plain decimal integer without sign, leading zeros, dots or slashes, small enough to be exact. */
const DECIMAL = /^(0|[1-9][0-9]{0,14})$/;

/** A job id or chunk index from the URL; anything else (encoded slashes, `..`, NUL, huge numbers) is a 404. */
export function parseIndex(raw: string | undefined, what: string): number {
  if (raw === undefined || !DECIMAL.test(raw)) throw new HTTPException(404, { message: `No ${what} ${JSON.stringify(String(raw).slice(0, 40))}` });
  return Number(raw);
}

/** A page number from the query: missing or unreadable means page 1 (the list is clamped later). */
export function parsePage(raw: string | undefined): number {
  return raw !== undefined && /^[1-9][0-9]{0,8}$/.test(raw) ? Number(raw) : 1;
}

/** A page size from the query, within bounds. */
export function parseLimit(raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  if (!/^[1-9][0-9]{0,5}$/.test(raw) || Number(raw) > max) throw new HTTPException(400, { message: `limit must be a whole number from 1 to ${max}` });
  return Number(raw);
}

/** A job state filter (`all` or empty: none). */
export function parseJobState(raw: string | undefined): JobState | undefined {
  if (raw === undefined || raw === '' || raw === 'all') return undefined;
  if (!(JOB_STATES as readonly string[]).includes(raw)) throw new HTTPException(400, { message: `Unknown job state ${JSON.stringify(raw.slice(0, 40))}; use one of all, ${JOB_STATES.join(', ')}` });
  return raw as JobState;
}

/** A chunk state filter (`all` or empty: none). */
export function parseChunkState(raw: string | undefined): StepState | undefined {
  if (raw === undefined || raw === '' || raw === 'all') return undefined;
  if (!(STEP_STATES as readonly string[]).includes(raw)) throw new HTTPException(400, { message: `Unknown chunk state ${JSON.stringify(raw.slice(0, 40))}; use one of all, ${STEP_STATES.join(', ')}` });
  return raw as StepState;
}

/** The longest file-name search taken from a URL. */
export const SEARCH_MAX = 100;

/** A list's `sort` (missing or empty: created, the default); anything else is a 400 naming the parameter. */
export function parseSort(raw: string | undefined): JobSort {
  if (raw === undefined || raw === '') return 'created';
  if (!(JOB_SORTS as readonly string[]).includes(raw)) throw new HTTPException(400, { message: `sort must be one of ${JOB_SORTS.join(', ')}, not ${JSON.stringify(raw.slice(0, 40))}` });
  return raw as JobSort;
}

/** A list's `dir`, asc or desc (missing or empty: the sort's own default). */
export function parseDir(raw: string | undefined, sort: JobSort): 'asc' | 'desc' {
  if (raw === undefined || raw === '') return defaultDir(sort);
  if (raw !== 'asc' && raw !== 'desc') throw new HTTPException(400, { message: `dir must be asc or desc, not ${JSON.stringify(raw.slice(0, 40))}` });
  return raw;
}

/** Which way a sort first goes: the newest (or latest finished) first, names and states from the top. */
export function defaultDir(sort: JobSort): 'asc' | 'desc' {
  return sort === 'name' || sort === 'state' ? 'asc' : 'desc';
}

/** A list's `q` (part of a file name): trimmed, at most SEARCH_MAX characters, no control characters; empty means none. */
export function parseSearch(raw: string | undefined): string | undefined {
  const q = (raw ?? '').trim();
  if (q === '') return undefined;
  if (q.length > SEARCH_MAX) throw new HTTPException(400, { message: `q (the file name search) must be at most ${SEARCH_MAX} characters, not ${q.length}` });
  if (/[\u0000-\u001f\u007f]/.test(q)) throw new HTTPException(400, { message: 'q (the file name search) must not hold control characters' });
  return q;
}

/**
 * Where a form goes back to after an action: only this site's list or job pages with a plain
 * query, so a redirect can never lead elsewhere (`//evil`, `/\evil`, `javascript:`).
 */
export function safeBack(raw: unknown, fallback: string): string {
  // A query may carry a percent-encoded search; it stays encoded in the Location header.
  return typeof raw === 'string' && raw.length <= 2000 && /^\/(jobs\/[0-9]{1,15})?(\?[A-Za-z0-9=&_.~%+-]*)?$/.test(raw) ? raw : fallback;
}

/** A query string from parameters, leaving out empty ones and page 1. */
export function query(params: Record<string, string | number | undefined>): string {
  const pairs = Object.entries(params).filter(([k, v]) => v !== undefined && v !== '' && !(k.toLowerCase().endsWith('page') && v === 1));
  return pairs.length ? `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&')}` : '';
}
