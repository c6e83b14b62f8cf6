/** The status page server's public face. */
import { createServer as createHttpsServer } from 'node:https';
import { hostname, networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Config } from '../config.ts';
import { readServerTls } from '../tls-files.ts';
import { openPageAuth, type PageAuth } from './auth/index.ts';
import { createApp } from './app.ts';
import { boundServer } from './bounds.ts';
import type { AppDeps } from './deps.ts';
import { isLoopback } from './loopback.ts';

export { createApp } from './app.ts';
export type { AppDeps, ServerAction } from './deps.ts';
export { escapeHtml } from './page.ts';
export { loadToken, loginLines, loginNeeded, openPageAuth, rotateToken, tokenFile, type PageAuth } from './auth/index.ts';
export { isLoopback } from './loopback.ts';

/** A running status page. */
export interface RunningServer {
  /** An address of the page on this machine (http or https). */
  url: string;
  /** Addresses other machines may use: this machine's name and addresses when it listens on all of them; [url] on loopback. */
  publicUrls: string[];
  /** Whether it serves https. */
  tls: boolean;
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

/** This machine's addresses outside loopback (IPv4 for 0.0.0.0; IPv6 too for ::, without link-local ones, which need a zone). */
function interfaceAddresses(host: string): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4') out.push(a.address);
      else if (host === '::' && !/^fe[89ab]/i.test(a.address)) out.push(`[${a.address}]`);
    }
  }
  return out;
}

/** The page's addresses for other machines: the listen address itself, or for 0.0.0.0 and :: the machine's name and its addresses. */
export function publicUrls(host: string, port: number, scheme: 'http' | 'https'): string[] {
  const at = (h: string) => `${scheme}://${h}:${port}/`;
  if (host !== '0.0.0.0' && host !== '::') return [at(bracket(host))];
  return [...new Set([hostname(), ...interfaceAddresses(host)])].map(at);
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
  const tls = readServerTls(deps.config);
  if (tls && tls.validTo.getTime() < Date.now()) console.warn(`posepipe: warning: the certificate ${deps.config.tlsCert} (tlsCert) expired on ${tls.validTo.toISOString()}: browsers and workers refuse it`);
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const options = { fetch: app.fetch, hostname: deps.config.host, port: deps.config.port };
    const s = tls ? serve({ ...options, createServer: createHttpsServer, serverOptions: { cert: tls.cert, key: tls.key } }, () => resolve(s)) : serve(options, () => resolve(s));
    boundServer(s as import('node:http').Server, deps.config);
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const defaultPort = tls ? 443 : 80;
  allowed = hostNames(deps.config.host).flatMap((h) => (port === defaultPort ? [h, `${h}:${defaultPort}`] : [`${h}:${port}`]));
  const scheme = tls ? 'https' : 'http';
  const wildcard = deps.config.host === '0.0.0.0' || deps.config.host === '::';
  return {
    url: `${scheme}://${wildcard ? '127.0.0.1' : bracket(deps.config.host)}:${port}/`,
    publicUrls: publicUrls(deps.config.host, port, scheme),
    tls: tls !== undefined,
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
