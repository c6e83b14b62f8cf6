import { writeFileSync } from 'node:fs';
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

  it('refuses a non-loopback host from the environment, naming the key, the source and the flag', async () => {
    const error = await startHarness({ env: { POSEPIPE_HOST: '0.0.0.0' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      'Invalid host (from POSEPIPE_HOST): "0.0.0.0" would expose the status page, which has no login, to other machines; use --host on the command line to do that deliberately',
    );
  });

  it('refuses a non-loopback host from the config file', async () => {
    const ws = makeWorkspace('server-config');
    const file = join(ws.root, 'posepipe.config.json');
    writeFileSync(file, JSON.stringify({ host: '192.0.2.1' }));
    try {
      const error = await startHarness({ env: { POSEPIPE_CONFIG: file } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(`Invalid host (from ${file}): "192.0.2.1"`);
      expect((error as Error).message).toContain('use --host on the command line');
    } finally {
      ws.cleanup();
    }
  });

  it('accepts loopback names from anywhere', async () => {
    h = await startHarness({ env: { POSEPIPE_HOST: 'localhost' } });
    expect((await rawRequest(h.server.port, '/api/jobs', { headers: { host: `localhost:${h.server.port}` } })).status).toBe(200);
  });

  it('listens on every interface when --host asks for it, with a warning, still refusing foreign Host headers', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    h = await startHarness({ flags: { host: '0.0.0.0' } });
    expect(warn).toHaveBeenCalledWith('posepipe: warning: the status page listens on 0.0.0.0, reachable from other machines; it has no login');
    // Reached on another address, so bound to all of them.
    expect((await rawRequest(h.server.port, '/api/jobs', { address: '127.0.0.2' })).status).toBe(200);
    // Named by the machine's own name, as people on the network do: answered.
    expect((await h.send('/api/jobs', { headers: { host: `${hostname()}:${h.server.port}` } })).status).toBe(200);
    expect((await h.send('/api/jobs', { headers: { host: `evil.example:${h.server.port}` } })).status).toBe(403);
  });
});
