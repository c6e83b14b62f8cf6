/**
 * A real status page for a test: its own workspace, a real SQLite file, a real server on port 0,
 * and raw node:http requests so any Host, Origin and Sec-Fetch-Site header can be sent.
 */
import { request, type IncomingMessage } from 'node:http';
import { loadConfig, type Config, type ConfigKey } from '../../src/config.ts';
import { openDb, type Db } from '../../src/db/index.ts';
import { startServer, type RunningServer, type ServerAction } from '../../src/server/index.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

/** A raw HTTP answer. */
export interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
  /** The body's bytes (images). */
  raw: Buffer;
}

/** A running page with what a test needs to poke it. */
export interface Harness {
  ws: Workspace;
  db: Db;
  config: Config;
  server: RunningServer;
  /** Every action the server reported, in order. */
  actions: ServerAction[];
  /** This server's own origin, for same-origin requests. */
  origin: string;
  send(path: string, opts?: { method?: string; headers?: Record<string, string>; body?: string }): Promise<Reply>;
  stop(): Promise<void>;
}

/** Send one raw request to a port (path sent exactly as given: no normalisation), on 127.0.0.1 unless `address` says otherwise. */
export function rawRequest(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string; address?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: opts.address ?? '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: { host: `127.0.0.1:${port}`, ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body: raw.toString('utf8'), raw });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Start a page on a fresh workspace, or on `ws` (one a CLI run filled), which it then owns. */
export async function startHarness(opts: { env?: Record<string, string>; flags?: Partial<Record<ConfigKey, string>>; heartbeatMs?: number; pollMs?: number; ws?: Workspace } = {}): Promise<Harness> {
  const ws = opts.ws ?? makeWorkspace('server');
  const db = openDb(ws.home);
  const config = loadConfig({
    env: { HOME: ws.root, POSEPIPE_HOME: ws.home, POSEPIPE_OUTBOX: ws.outbox, POSEPIPE_INBOX: ws.inbox, POSEPIPE_PORT: '0', ...opts.env },
    flags: opts.flags,
    cwd: ws.root,
    wsl: false,
  });
  const actions: ServerAction[] = [];
  let server: RunningServer;
  try {
    server = await startServer({ db, config, onAction: (a) => actions.push(a), heartbeatMs: opts.heartbeatMs, pollMs: opts.pollMs });
  } catch (error) {
    db.close();
    ws.cleanup();
    throw error;
  }
  return {
    ws,
    db,
    config,
    server,
    actions,
    origin: `http://127.0.0.1:${server.port}`,
    send: (path, o) => rawRequest(server.port, path, o),
    async stop() {
      await server.close();
      db.close();
      ws.cleanup();
    },
  };
}
