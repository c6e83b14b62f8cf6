/** The status page server's public face. */
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import { createApp } from './app.ts';

export { createApp, type AppDeps } from './app.ts';
export { escapeHtml } from './page.ts';

/** A running status page. */
export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serve the status page on config.host (127.0.0.1 by default) and config.port (0: any free port). */
export async function startServer(deps: { db: Db; config: Config; onResume?: (jobId: number) => void }): Promise<RunningServer> {
  let port = 0;
  const hostNames = () => {
    const names = new Set(['127.0.0.1', 'localhost', '[::1]', deps.config.host.toLowerCase()]);
    return [...names].map((h) => `${h}:${port}`);
  };
  if (!['127.0.0.1', 'localhost', '::1'].includes(deps.config.host)) {
    console.warn(`posepipe: warning: the status page listens on ${deps.config.host}, reachable from other machines; it has no login`);
  }
  const app = createApp({ db: deps.db, config: deps.config, allowedHosts: hostNames, onResume: deps.onResume });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: deps.config.host, port: deps.config.port }, () => resolve(s));
    s.once('error', reject);
  });
  port = (server.address() as AddressInfo).port;
  const shown = deps.config.host.includes(':') ? `[${deps.config.host}]` : deps.config.host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
