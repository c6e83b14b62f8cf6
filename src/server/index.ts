/** The status page server's public face. */
import { hostname, networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { openPageAuth, type PageAuth } from './auth/index.ts';
import { createApp } from './app.ts';
import type { AppDeps } from './deps.ts';
import { isLoopback } from './loopback.ts';

export { createApp } from './app.ts';
export type { AppDeps, ServerAction } from './deps.ts';
export { escapeHtml } from './page.ts';
export { loadToken, loginLines, loginNeeded, openPageAuth, rotateToken, tokenFile, type PageAuth } from './auth/index.ts';
export { isLoopback } from './loopback.ts';

/** A running status page. */
export interface RunningServer {
  url: string;
  port: number;
  /** The login it asks for; undefined when the page is open (loopback, auth auto or off). */
  auth: PageAuth | undefined;
  close(): Promise<void>;
}

const bracket = (h: string) => (h.includes(':') ? `[${h}]` : h);

/** Names a browser may use to reach this server: loopback, plus this machine's names and addresses when it is exposed. */
function hostNames(host: string): string[] {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]']);
  if (isLoopback(host)) return [...names];
  if (host !== '0.0.0.0' && host !== '::') names.add(bracket(host.toLowerCase()));
  else {
    names.add(hostname().toLowerCase());
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.add(bracket(a.address.toLowerCase()));
  }
  return [...names];
}

/**
 * Serve the status page on config.host (127.0.0.1 by default) and config.port (0: any free port),
 * with the login the `auth` setting asks for: `deps.auth` when given (posepipe start opens it before
 * anything else), else opened here. Throws ConfigError for auth=off beyond loopback or a bad token file.
 */
export async function startServer(deps: Omit<AppDeps, 'allowedHosts'>): Promise<RunningServer> {
  const auth = 'auth' in deps ? deps.auth : openPageAuth(deps.config);
  let allowed: string[] = [];
  const app = createApp({ ...deps, auth, allowedHosts: () => allowed });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: deps.config.host, port: deps.config.port }, () => resolve(s));
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  allowed = hostNames(deps.config.host).flatMap((h) => (port === 80 ? [h, `${h}:80`] : [`${h}:${port}`]));
  return {
    url: `http://${bracket(deps.config.host)}:${port}/`,
    port,
    auth,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Live-update streams never end by themselves: close them so shutdown does not wait on a browser tab.
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}
