/** The status page server's public face. */
import { hostname, networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { ConfigError, type Config } from '../config.ts';
import { createApp } from './app.ts';
import { boundServer } from './bounds.ts';
import type { AppDeps } from './deps.ts';

export { createApp } from './app.ts';
export type { AppDeps, ServerAction } from './deps.ts';
export { escapeHtml } from './page.ts';

/** A running status page. */
export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];

/** Whether a listen address is this machine only. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.includes(host);
}

/**
 * The status page has no login, so it listens on loopback unless someone asked otherwise on the
 * command line: a host from the environment or the config file may be a leftover nobody meant
 * for this machine. Throws ConfigError naming the key and where the value came from.
 */
export function checkBinding(config: Config): void {
  if (LOOPBACK.includes(config.host)) return;
  const source = config.sources.host;
  if (source !== '--host') {
    throw new ConfigError(
      `Invalid host (from ${source}): ${JSON.stringify(config.host)} would expose the status page, which has no login, to other machines; use --host on the command line to do that deliberately`,
    );
  }
  console.warn(`posepipe: warning: the status page listens on ${config.host}, reachable from other machines; it has no login`);
}

const bracket = (h: string) => (h.includes(':') ? `[${h}]` : h);

/** Names a browser may use to reach this server: loopback, plus this machine's names and addresses when it is exposed. */
function hostNames(host: string): string[] {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]']);
  if (LOOPBACK.includes(host)) return [...names];
  if (host !== '0.0.0.0' && host !== '::') names.add(bracket(host.toLowerCase()));
  else {
    names.add(hostname().toLowerCase());
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.add(bracket(a.address.toLowerCase()));
  }
  return [...names];
}

/** Serve the status page on config.host (127.0.0.1 by default) and config.port (0: any free port). */
export async function startServer(deps: Omit<AppDeps, 'allowedHosts'>): Promise<RunningServer> {
  checkBinding(deps.config);
  let allowed: string[] = [];
  const app = createApp({ ...deps, allowedHosts: () => allowed });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: deps.config.host, port: deps.config.port }, () => resolve(s));
    boundServer(s as import('node:http').Server, deps.config);
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  allowed = hostNames(deps.config.host).flatMap((h) => (port === 80 ? [h, `${h}:80`] : [`${h}:${port}`]));
  return {
    url: `http://${bracket(deps.config.host)}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Live-update streams never end by themselves: close them so shutdown does not wait on a browser tab.
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}
