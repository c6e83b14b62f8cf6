import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { openDb } from '../../src/db/index.ts';
import { createApp, openPageAuth } from '../../src/server/index.ts';
import { safeNext } from '../../src/server/auth/index.ts';
import { EndedSessions, readSession, roleOfToken, SESSION_SECONDS, signSession } from '../../src/server/auth/sessions.ts';
import { clientKey, WrongTokenThrottle } from '../../src/server/auth/throttle.ts';
import { loadToken, readTokenFile, rotateToken, writeTokenFile } from '../../src/server/auth/tokens.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { startHarness, type Harness } from './harness.ts';

const OPERATOR = 'operator-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
const tokens = { operator: OPERATOR, viewer: VIEWER } as Record<string, string | undefined>;
const tokenOf = (role: string) => tokens[role];

let ws: Workspace | undefined;
let h: Harness | undefined;
afterEach(async () => {
  ws?.cleanup();
  ws = undefined;
  await h?.stop();
  h = undefined;
});

describe('wrong-token throttle', () => {
  it('answers 429 after five wrong tries in a minute, for as long as the oldest stays in the window, per client', () => {
    const t = new WrongTokenThrottle();
    const t0 = 1_000_000;
    for (let i = 0; i < 5; i++) {
      expect(t.retryAfter('10.0.0.1', t0 + i * 1000)).toBe(0);
      t.fail('10.0.0.1', t0 + i * 1000);
    }
    expect(t.retryAfter('10.0.0.1', t0 + 5000)).toBe(55);
    expect(t.retryAfter('10.0.0.2', t0 + 5000)).toBe(0);
    // The first wrong try leaves the window: one more try is checked.
    expect(t.retryAfter('10.0.0.1', t0 + 60_001)).toBe(0);
    t.fail('10.0.0.1', t0 + 60_001);
    expect(t.retryAfter('10.0.0.1', t0 + 60_002)).toBe(1);
    expect(t.retryAfter('10.0.0.1', t0 + 125_000)).toBe(0);
  });

  it('keeps a bounded number of clients', () => {
    const t = new WrongTokenThrottle({ maxClients: 3 });
    for (let i = 0; i < 10; i++) for (let k = 0; k < 5; k++) t.fail(`10.0.0.${i}`, 1000);
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => t.retryAfter(`10.0.0.${i}`, 1000) > 0)).toEqual([false, false, false, false, false, false, false]);
    expect([7, 8, 9].map((i) => t.retryAfter(`10.0.0.${i}`, 1000) > 0)).toEqual([true, true, true]);
  });

  it('counts an IPv6 client by its /64 and a mapped IPv4 one by its address', () => {
    expect(clientKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey(undefined)).toBe('unknown');
  });
});

describe('sessions', () => {
  it('reads back a signed session for its role only while its token is current, unexpired and untouched', () => {
    const now = Date.UTC(2026, 0, 1);
    const { value, session } = signSession('viewer', VIEWER, now);
    expect(readSession(value, tokenOf, now)).toEqual(session);
    expect(readSession(value, tokenOf, now + SESSION_SECONDS * 1000 + 1000)).toBeUndefined();
    expect(readSession(value, (r) => (r === 'viewer' ? 'another-viewer-token-0123456' : OPERATOR), now)).toBeUndefined();
    // The role cannot be raised: the signature is the viewer token's.
    expect(readSession(value.replace(/^viewer/, 'operator'), tokenOf, now)).toBeUndefined();
    const mac = value.slice(-43);
    expect(readSession(`${value.slice(0, -43)}${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`, tokenOf, now)).toBeUndefined();
    for (const junk of [undefined, '', 'viewer', `${value}.x`, value.replace(/\.\d+\./, '.1e9.')]) expect(readSession(junk, tokenOf, now)).toBeUndefined();
  });

  it('tells the role of a token, and no role for a worker token, a prefix or an empty one', () => {
    expect([roleOfToken(OPERATOR, tokenOf), roleOfToken(VIEWER, tokenOf)]).toEqual(['operator', 'viewer']);
    for (const wrong of ['', 'worker-token-0123456789abcdef', OPERATOR.slice(0, -1), `${OPERATOR}x`]) expect(roleOfToken(wrong, tokenOf)).toBeUndefined();
  });

  it('remembers ended sessions within its bound', () => {
    const ended = new EndedSessions(2);
    const s = (n: string) => ({ role: 'operator' as const, expires: 2_000_000_000, nonce: n });
    ended.end(s('a'));
    ended.end(s('b'));
    ended.end(s('c'));
    expect(['a', 'b', 'c'].map((n) => ended.has(s(n)))).toEqual([false, true, true]);
  });
});

describe('where a login leads', () => {
  it('only to a path of this site', () => {
    expect(safeNext('/jobs/3?chunkState=failed')).toBe('/jobs/3?chunkState=failed');
    expect(safeNext('/jobs/3#x')).toBe('/jobs/3');
    for (const bad of ['//evil.example/', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', '/login', '/logout?x=1', '/a b', '/\u00e9', '', undefined, 5, `/${'a'.repeat(1001)}`, '/%2F%2Fevil', '/./\\evil']) {
      const next = safeNext(bad);
      expect(next.startsWith('/') && !next.startsWith('//') && !next.includes('\\'), String(bad)).toBe(true);
      if (bad !== '/%2F%2Fevil') expect(next, String(bad)).toBe('/');
    }
  });
});

describe('token files', () => {
  const config = (w: Workspace, env: Record<string, string> = {}) => loadConfig({ env: { HOME: w.root, POSEPIPE_HOME: w.home, ...env }, cwd: w.root, wsl: false });

  it('makes a missing token once with mode 0600, reads it back after, and rotates it', () => {
    ws = makeWorkspace('tokens');
    const first = loadToken(config(ws), 'operator', true)!;
    expect(first.generated).toBe(true);
    expect(statSync(first.file!).mode & 0o777).toBe(0o600);
    const again = loadToken(config(ws), 'operator', true)!;
    expect([again.generated, again.token]).toEqual([false, first.token]);
    const rotated = rotateToken(config(ws), 'operator');
    expect(rotated.token).not.toBe(first.token);
    expect(readFileSync(rotated.file, 'utf8')).toBe(`${rotated.token}\n`);
    expect(statSync(rotated.file).mode & 0o777).toBe(0o600);
    // Not replacing: the file already there stays.
    expect(writeTokenFile(rotated.file, 'x'.repeat(20), false)).toBe(false);
    expect(readTokenFile(rotated.file)).toBe(rotated.token);
  });

  it('refuses a token file others can read, a link, a directory or one without a token, naming the file', () => {
    ws = makeWorkspace('tokens-bad');
    const file = join(ws.home, 'page-token');
    writeFileSync(file, 'a'.repeat(30), { mode: 0o600 });
    chmodSync(file, 0o640);
    expect(() => readTokenFile(file)).toThrow(`Cannot use the token file ${file}: others may read or change it (mode 0640)`);
    chmodSync(file, 0o600);
    writeFileSync(file, 'short\n');
    expect(() => readTokenFile(file)).toThrow('it does not hold one token');
    const target = join(ws.root, 'elsewhere');
    writeFileSync(target, 'b'.repeat(30), { mode: 0o600 });
    const link = join(ws.home, 'viewer-token');
    symlinkSync(target, link);
    expect(() => loadToken(config(ws!), 'viewer', true)).toThrow(ConfigError);
    expect(() => readTokenFile(link)).toThrow(`Cannot use the token file ${link}: it is a symbolic link; run posepipe token --viewer --rotate`);
    const dir = join(ws.root, 'dir-token');
    mkdirSync(dir);
    expect(() => readTokenFile(dir)).toThrow('it is not a regular file');
    // A home folder posepipe cannot write to: the reason, with the file.
    const closed = join(ws.root, 'closed');
    mkdirSync(closed, { mode: 0o500 });
    if (process.getuid?.() !== 0) expect(() => writeTokenFile(join(closed, 'page-token'), 'c'.repeat(30), false)).toThrow(`Cannot write the token file ${join(closed, 'page-token')}: EACCES`);
  });

  it('uses a token from a setting as it is and will not rotate it', () => {
    ws = makeWorkspace('tokens-env');
    const c = config(ws, { POSEPIPE_PAGE_TOKEN: OPERATOR });
    expect(loadToken(c, 'operator', true)).toEqual({ token: OPERATOR, source: 'POSEPIPE_PAGE_TOKEN', generated: false });
    expect(() => rotateToken(c, 'operator')).toThrow('The operator token comes from POSEPIPE_PAGE_TOKEN (pageToken): change it there and restart posepipe');
  });
});

describe('the login routes', () => {
  it('marks the session cookie Secure when the request came over TLS, and takes an https:// Origin as its own', async () => {
    ws = makeWorkspace('tls-cookie');
    const key = join(ws.root, 'key.pem');
    const cert = join(ws.root, 'cert.pem');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const c = loadConfig({ env: { HOME: ws.root, POSEPIPE_HOME: ws.home, POSEPIPE_AUTH: 'on', POSEPIPE_PAGE_TOKEN: OPERATOR }, cwd: ws.root, wsl: false });
    const db = openDb(ws.home);
    const server = createAdaptorServer({ fetch: createApp({ db, config: c, auth: openPageAuth(c), allowedHosts: () => [`127.0.0.1:${port}`] }).fetch, createServer: createHttpsServer, serverOptions: { key: readFileSync(key), cert: readFileSync(cert) } });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const cookie = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: `/login?token=${OPERATOR}`, ca: readFileSync(cert)}, (res) => {
          res.resume();
          resolve(String(res.headers['set-cookie']));
        });
        req.on('error', reject);
        req.end();
      });
      expect(cookie).toMatch(/; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
      // A page action over TLS carries an https:// Origin: the same site, so it passes the guard; an http:// one is not this origin.
      const pause = (origin: string) =>
        new Promise<number>((resolve, reject) => {
          const req = httpsRequest({ host: '127.0.0.1', port, method: 'POST', path: '/api/intake/pause', headers: { origin, authorization: `Bearer ${OPERATOR}`, 'sec-fetch-site': 'same-origin' }, ca: readFileSync(cert) }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
      expect(await pause(`http://127.0.0.1:${port}`)).toBe(403);
      expect(await pause(`https://127.0.0.1:${port}`)).toBeLessThan(400);
      expect(db.intakePaused()).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
      db.close();
    }
  });


  it('refuses an oversized login form and a cross-site login or logout; a logout ends the session for good', async () => {
    h = await startHarness({ flags: { auth: 'on' }, env: { POSEPIPE_PAGE_TOKEN: OPERATOR } });
    const form = { 'content-type': 'application/x-www-form-urlencoded', origin: h.origin };
    expect((await h.send('/login', { method: 'POST', headers: form, body: `token=${'a'.repeat(9000)}` })).status).toBe(413);
    expect((await h.send('/login', { method: 'POST', headers: { ...form, origin: 'http://evil.example' }, body: `token=${OPERATOR}` })).status).toBe(403);
    const ok = await h.send('/login', { method: 'POST', headers: form, body: `token=${OPERATOR}&next=${encodeURIComponent('//evil.example/')}` });
    expect([ok.status, ok.headers.location]).toEqual([303, '/']);
    const cookie = String(ok.headers['set-cookie']).split(';')[0]!;
    expect((await h.send('/api/jobs', { headers: { cookie } })).status).toBe(200);
    expect((await h.send('/logout', { method: 'POST', headers: { origin: 'http://evil.example', cookie } })).status).toBe(403);
    expect((await h.send('/api/jobs', { headers: { cookie } })).status).toBe(200);
    // A logged-out session cannot be replayed.
    const out = await h.send('/logout', { method: 'POST', headers: { origin: h.origin, cookie } });
    expect([out.status, out.headers.location, String(out.headers['set-cookie'])]).toEqual([303, '/login', expect.stringMatching(/Max-Age=0/)]);
    expect((await h.send('/api/jobs', { headers: { cookie } })).status).toBe(401);
    // Paths that only look like a public one are not.
    for (const path of ['/static/../api/jobs', '/static/%2e%2e/api/jobs', '/worker/../api/jobs', '/login/../api/jobs', '/LOGIN', '/api/jobs?/login']) {
      expect((await h.send(path)).status, path).toBe(401);
    }
  });
});
