/**
 * The worker's HTTP client to its coordinator: JSON posts, streamed downloads and uploads, over
 * http or https. Built on node:http/node:https rather than fetch because Node 20's fetch cannot be
 * given a CA to trust, and a coordinator with a self-signed certificate is the common farm setup.
 * Every transfer is limited by idle time (no byte either way for idleMs), never by total time: a
 * slow upload that keeps moving is never cut off.
 */
import { createReadStream, createWriteStream, mkdirSync, statSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { dirname } from 'node:path';
import { pipeline as pipe } from 'node:stream/promises';

/** An answer of the coordinator: its HTTP status and its JSON body ({} when it sent none). */
export interface CoordinatorAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** A download answered with another status than 200. */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The coordinator's certificate cannot be trusted: a setting to fix, not a network hiccup to retry. */
export class CoordinatorTrustError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CoordinatorTrustError';
  }
}

/** The largest JSON answer read from the coordinator; beyond it the answer is dropped. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** The most a body can leave in the kernel's send and receive buffers (Linux's tcp_wmem and tcp_rmem caps are 4 and 6 MiB). */
const BUFFERED_MAX_BYTES = 16 * 1024 * 1024;
/** The pace those last bytes are assumed to be read at, at worst. */
const SLOW_READ_BYTES_PER_S = 256 * 1024;

/** OpenSSL's verdicts for a certificate whose issuer is not among the trusted ones. */
const UNTRUSTED = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE']);

/** The coordinator's endpoints, with the worker token. Network failures reject; HTTP answers resolve. */
export class CoordinatorClient {
  readonly #base: URL;
  readonly #headers: Record<string, string>;
  readonly #idleMs: number;
  readonly #caFile: string;
  readonly #agent: http.Agent;

  /** `ca`: PEM text to trust instead of the system's CAs (from `caFile`, named in messages). */
  constructor(base: string, opts: { token: string; idleMs: number; ca?: string; caFile?: string }) {
    this.#base = new URL(base.replace(/\/?$/, '/'));
    this.#headers = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
    this.#idleMs = opts.idleMs;
    this.#caFile = opts.caFile ?? '';
    this.#agent = this.#base.protocol === 'https:' ? new https.Agent({ keepAlive: true, ...(opts.ca ? { ca: opts.ca } : {}) }) : new http.Agent({ keepAlive: true });
  }

  /** POST a JSON body; `timeoutMs` bounds the silence, `headers` are added to this request. */
  async post(path: string, body: unknown, timeoutMs = this.#idleMs, headers: Record<string, string> = {}): Promise<CoordinatorAnswer> {
    const text = JSON.stringify(body);
    const bytes = Buffer.byteLength(text);
    const res = await this.#request('POST', path, { ...headers, 'content-type': 'application/json', 'content-length': String(bytes) }, timeoutMs, (req) => req.end(text), bytes);
    return { status: res.statusCode ?? 0, body: await readJson(res) };
  }

  /** GET `path` into the file `to` (its folder made), streamed. */
  async download(path: string, to: string, headers: Record<string, string> = {}): Promise<void> {
    const res = await this.#request('GET', path, headers, this.#idleMs, (req) => req.end());
    if (res.statusCode !== 200) {
      res.resume();
      throw new HttpError(res.statusCode ?? 0, `GET ${path}: HTTP ${res.statusCode}`);
    }
    mkdirSync(dirname(to), { recursive: true });
    await pipe(res, createWriteStream(to));
  }

  /** PUT the file's bytes, streamed, with `headers` (the result's sha256 and any others). */
  async upload(path: string, file: string, headers: Record<string, string>): Promise<CoordinatorAnswer> {
    const size = statSync(file).size;
    const res = await this.#request('PUT', path, { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(size) }, this.#idleMs, (req) => {
      const source = createReadStream(file);
      source.once('error', (error) => req.destroy(error));
      source.pipe(req);
    }, size);
    return { status: res.statusCode ?? 0, body: await readJson(res) };
  }

  /** Stop keeping connections open (at the worker's end). */
  close(): void {
    this.#agent.destroy();
  }

  /** One request: resolves with the response once its head arrives; the idle limit goes on over its body. */
  #request(method: string, path: string, headers: Record<string, string>, idleMs: number, send: (req: http.ClientRequest) => void, bodyBytes = 0): Promise<IncomingMessage> {
    const url = new URL(path.replace(/^\//, ''), this.#base);
    const module = url.protocol === 'https:' ? https : http;
    return new Promise<IncomingMessage>((resolve, reject) => {
      let response: IncomingMessage | undefined;
      const req = module.request(url, { method, agent: this.#agent, headers: { ...this.#headers, ...headers } }, (res) => {
        response = res;
        resolve(res);
      });
      let limitMs = idleMs;
      req.setTimeout(limitMs, () => {
        const error = new Error(`${method} ${url.pathname}: nothing moved for ${Math.round(limitMs / 1000)} s; the coordinator does not answer`);
        response?.destroy(error);
        req.destroy(error);
      });
      // The last bytes of a body sit in the kernel's buffers (megabytes), unseen here, until the far
      // end reads them: the wait for the answer gets their time at a slow reader's pace on top.
      req.once('finish', () => {
        limitMs = idleMs + Math.round((Math.min(bodyBytes, BUFFERED_MAX_BYTES) / SLOW_READ_BYTES_PER_S) * 1000);
        req.setTimeout(limitMs);
      });
      // Also after the answer came (an upload the coordinator refused early breaks its pipe): only the first error counts.
      req.on('error', (error) => reject(this.#explain(error)));
      send(req);
    });
  }

  /** A TLS failure in words a user can act on; other errors unchanged. */
  #explain(error: Error): Error {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const where = `${this.#base.protocol}//${this.#base.host}`;
    if (UNTRUSTED.has(code)) {
      return new CoordinatorTrustError(this.#caFile
        ? `the coordinator's certificate is not trusted: ${where} is not signed by --ca ${this.#caFile} (${code}); pass its own certificate or the CA that signed it`
        : `the coordinator's certificate is not trusted: pass --ca FILE (the coordinator's certificate, or the CA that signed it) to trust ${where} (${code})`);
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return new CoordinatorTrustError(`the coordinator's certificate is not for ${this.#base.hostname}: ${error.message}; reach the coordinator by a name or address its certificate lists`);
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return new CoordinatorTrustError(`the coordinator's certificate is not valid now (${code}): renew it on the coordinator`);
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO') return new CoordinatorTrustError(`${where} does not answer https (${error.message}): use the address posepipe start prints (http:// unless tlsCert is set)`);
    return error;
  }
}

/** The answer's JSON object; {} when it is not one; dropped (rejects) beyond MAX_ANSWER_BYTES. */
async function readJson(res: IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  let bytes = 0;
  for await (const part of res as AsyncIterable<Buffer>) {
    bytes += part.length;
    if (bytes > MAX_ANSWER_BYTES) {
      res.destroy();
      throw new Error(`the coordinator's answer is over ${MAX_ANSWER_BYTES} bytes`);
    }
    parts.push(part);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(parts).toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
