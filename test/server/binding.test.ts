import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../src/config.ts';
import { makeWorkspace } from '../helpers/workspace.ts';
import { rawRequest, startHarness, type Harness } from './harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.stop();
  h = undefined;
});

describe('binding', () => {
  it('listens on 127.0.0.1 only by default: another loopback address is not answered', async () => {
    h = await startHarness();
    expect(h.server.url).toBe(`http://127.0.0.1:${h.server.port}/`);
    expect((await h.send('/api/jobs')).status).toBe(200);
    // Linux routes all of 127/8 to loopback: a server on every interface would answer here.
    await expect(rawRequest(h.server.port, '/api/jobs', { address: '127.0.0.2' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('asks for a login on a non-loopback host from the environment, with tokens made in the home folder (mode 0600)', async () => {
    h = await startHarness({ env: { POSEPIPE_HOST: '0.0.0.0' } });
    expect(h.server.auth).toBeDefined();
    const file = join(h.ws.home, 'page-token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(h.ws.home, 'viewer-token')).mode & 0o777).toBe(0o600);
    expect((await h.send('/api/jobs')).status).toBe(401);
    const token = readFileSync(file, 'utf8').trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await h.send('/api/jobs', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('refuses auth=off beyond loopback, naming the key and where the value came from', async () => {
    const ws = makeWorkspace('server-config');
    const file = join(ws.root, 'posepipe.config.json');
    writeFileSync(file, JSON.stringify({ host: '0.0.0.0', auth: 'off' }));
    try {
      const error = await startHarness({ env: { POSEPIPE_CONFIG: file } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(`Invalid auth (from ${file}): off would open the status page`);
      expect((error as Error).message).toContain('off is accepted only on loopback');
    } finally {
      ws.cleanup();
    }
  });

  it('leaves the page open on loopback with auth=off or auto, and asks for a login there with auth=on', async () => {
    h = await startHarness({ flags: { auth: 'off' } });
    expect(h.server.auth).toBeUndefined();
    expect((await h.send('/api/jobs')).status).toBe(200);
    expect(existsSync(join(h.ws.home, 'page-token'))).toBe(false);
    await h.stop();
    h = await startHarness({ env: { POSEPIPE_AUTH: 'on' } });
    expect((await h.send('/api/jobs')).status).toBe(401);
  });

  it('accepts loopback names from anywhere', async () => {
    h = await startHarness({ env: { POSEPIPE_HOST: 'localhost' } });
    expect((await rawRequest(h.server.port, '/api/jobs', { headers: { host: `localhost:${h.server.port}` } })).status).toBe(200);
  });

  it('listens on every interface when --host asks for it, behind a login, still refusing foreign Host headers', async () => {
    h = await startHarness({ flags: { host: '0.0.0.0' } });
    const auth = { authorization: `Bearer ${h.server.auth!.origins.viewer.token}` };
    // Reached on another address, so bound to all of them.
    expect((await rawRequest(h.server.port, '/api/jobs', { address: '127.0.0.2', headers: auth })).status).toBe(200);
    expect((await rawRequest(h.server.port, '/api/jobs', { address: '127.0.0.2' })).status).toBe(401);
    // Named by the machine's own name, as people on the network do: answered.
    expect((await h.send('/api/jobs', { headers: { host: `${hostname()}:${h.server.port}`, ...auth } })).status).toBe(200);
    expect((await h.send('/api/jobs', { headers: { host: `evil.example:${h.server.port}`, ...auth } })).status).toBe(403);
  });
});
