/**
 * One HTTP(S) request over Node's own http/https, following redirects, with the headers every model
 * download sends. node:http rather than fetch: fetch asks for gzip and inflates it, so the bytes on
 * disk (and the length a HEAD reports) would stop matching Content-Length.
 */
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';

/** A download failed; `retry` says whether trying again could help (a dropped connection, a 503). */
export class DownloadError extends Error {
  readonly retry: boolean;
  constructor(message: string, retry: boolean) {
    super(message);
    this.name = 'DownloadError';
    this.retry = retry;
  }
}

/** A request and the response it got, once the redirects are followed. */
export interface Exchange {
  req: ClientRequest;
  res: IncomingMessage;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/**
 * Send `method` to `url` (with `range`, when given) and follow up to five redirects. Rejects with a
 * DownloadError for a bad redirect, and with the socket's own error when no response comes.
 */
export function request(url: string, opts: { method: 'GET' | 'HEAD'; range?: string; idleMs: number }, redirects = MAX_REDIRECTS): Promise<Exchange> {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'user-agent': 'posepipe', 'accept-encoding': 'identity' };
    if (opts.range !== undefined) headers.range = opts.range;
    const req = client.request(target, { method: opts.method, headers }, (res) => {
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (!REDIRECTS.has(status) || location === undefined) return resolve({ req, res });
      res.resume();
      // A Location that is no URL at all would otherwise throw inside this callback, past `reject`.
      const next = URL.canParse(location, target) ? new URL(location, target) : undefined;
      if (next === undefined) reject(new DownloadError(`redirected to ${JSON.stringify(location)}, which is not a URL`, false));
      else if (redirects === 0) reject(new DownloadError(`more than ${MAX_REDIRECTS} redirects (last to ${next.href})`, false));
      else if (next.protocol !== 'https:' && next.protocol !== 'http:') reject(new DownloadError(`redirected to a ${next.protocol} URL`, false));
      else request(next.href, opts, redirects - 1).then(resolve, reject);
    });
    req.setTimeout(opts.idleMs, () => req.destroy(new Error(`nothing received for ${opts.idleMs / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

/** `bytes START-END/TOTAL` → its numbers; a 416's form, with `*` for the range, → start -1. */
export function contentRange(header: string | undefined): { start: number; total: number | undefined } | undefined {
  const m = /^bytes (?:(\d+)-\d+|\*)\/(\d+|\*)$/.exec(header?.trim() ?? '');
  if (!m) return undefined;
  return { start: m[1] === undefined ? -1 : Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) };
}

/** A Content-Length header as a number; undefined when absent or not a plain count. */
export function contentLength(header: string | undefined): number | undefined {
  return header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
}

/** An unwanted status as a DownloadError (`HTTP 404 Not Found`), retryable when the server may recover. */
export function statusError(res: IncomingMessage): DownloadError {
  const status = res.statusCode ?? 0;
  // Server trouble and rate limits pass; a 404 or 403 will not change by asking again.
  return new DownloadError(`HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`, status >= 500 || status === 408 || status === 429);
}
