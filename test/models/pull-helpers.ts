import { createHash } from 'node:crypto';
import { afterEach } from 'vitest';
import type { ModelManifest } from '../../src/models/index.ts';
import { startFileServer, type FileServer, type Route } from './file-server.ts';

/** The host the manifests of these tests name; the file server serves it as a mirror, under `/HOST/`. */
export const HOST = 'models.example.org';
/** Retries that keep a failing test fast. */
export const fast = { retryDelayMs: 10, idleTimeoutMs: 5000 };

/** Hex digests, as the manifest spells them. */
export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
export const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

/** Captures what a pull writes; not a TTY unless asked. */
export function output(isTTY = false) {
  const out = { text: '', isTTY, write: (s: string) => (out.text += s) };
  return out;
}

/** A manifest of these files (and manual ones) for the phalp backend. */
export const manifestOf = (files: ModelManifest['files'], manual: ModelManifest['manual'] = []): ModelManifest => ({ backend: 'phalp', files, manual });

/** `serve(routes)` starts a file server that is closed after the test; for a test file's top level. */
export function fileServersPerTest(): (routes: Record<string, Route>, redirects?: Record<string, string>) => Promise<FileServer> {
  const servers: FileServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return async (routes, redirects) => {
    const server = await startFileServer(routes, redirects);
    servers.push(server);
    return server;
  };
}

/** The URL of a port nobody listens on: a server started and closed again. */
export async function closedPortUrl(): Promise<string> {
  const server = await startFileServer({});
  await server.close();
  return server.base;
}
