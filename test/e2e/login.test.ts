import { chmodSync, copyFileSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliEnv, runCli, spawnCli } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { redisPerTest } from '../helpers/redis.ts';
import { appsPerTest, type App } from '../helpers/remote.ts';
import { waitFor, workspacesPerTest, type Workspace } from '../helpers/workspace.ts';

// The status page's login against a real `posepipe start`: every route refused without a token,
// the operator, viewer and worker tokens each in their place, wrong tokens slowed, and a token
// replaced by the real `posepipe token --rotate` while the server runs.

const workspace = workspacesPerTest();
const redisFor = redisPerTest();
const spawnApp = appsPerTest();

const WORKER_TOKEN = 'worker-token-0123456789abcdef';
/** The job's name: it must appear in no refused answer. */
const SECRET_NAME = 'quarterly-secret-clip.mp4';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One request with raw node:http (any header, a chosen source address); `firstBytes` stops reading
 * after that many bytes (live updates never end).
 */
function send(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string; from?: string; firstBytes?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', localAddress: opts.from, headers: { host: `127.0.0.1:${port}`, ...opts.headers } }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => {
        body += d;
        if (opts.firstBytes !== undefined && body.length >= opts.firstBytes) {
          res.destroy();
          resolve({ status: res.statusCode!, headers: res.headers, body });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Start `posepipe start` and read what it printed: the page's port and the two login addresses. */
async function start(ws: Workspace, args: string[], extra: Record<string, string>): Promise<{ app: App; port: number; operator: string; viewer: string }> {
  const app = spawnApp(['start', ...args], cliEnv(ws, extra));
  const printed = await waitFor('posepipe start to print its login addresses', () => {
    const out = app.output();
    const port = /posepipe: status page at http:\/\/[^:]+:(\d+)\//.exec(out)?.[1];
    const operator = /posepipe: log in at http:\/\/127\.0\.0\.1:\d+\/login\?token=([A-Za-z0-9_-]+)/.exec(out)?.[1];
    const viewer = /posepipe: read-only: http:\/\/127\.0\.0\.1:\d+\/login\?token=([A-Za-z0-9_-]+)/.exec(out)?.[1];
    return port && operator && viewer ? { port: Number(port), operator, viewer } : undefined;
  }, 30_000);
  return { app, ...printed };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('the status page login (real posepipe start)', () => {
  it('refuses every route without a login (nothing revealed), lets each token do only its part, slows wrong tokens, and ends a rotated token and its sessions', async () => {
    const ws = workspace('login-routes');
    const redis = await redisFor(ws.root);
    // auth=on on loopback: exactly what a reverse proxy or an SSH tunnel in front of posepipe looks like.
    const { port, operator, viewer } = await start(ws, ['--auth', 'on'], { POSEPIPE_TRACKER: 'test-fixture', POSEPIPE_TEST_FIXTURE_FRAME_SECONDS: '0.001', POSEPIPE_PREVIEW_SIZE: '96', POSEPIPE_CHUNK_SECONDS: '1', POSEPIPE_REDIS_URL: redis.url, POSEPIPE_WORKER_TOKEN: WORKER_TOKEN });
    const asOperator = bearer(operator);
    copyFileSync(fixture('with-audio.mp4'), join(ws.inbox, SECRET_NAME));
    await waitFor('job 1 to be done', async () => ((JSON.parse((await send(port, '/api/jobs/1', { headers: asOperator })).body) as { state?: string }).state === 'done' ? true : undefined), 120_000, 250);
    // A second job that stays queued, for the forged cancel.
    expect((await send(port, '/api/intake/pause', { method: 'POST', headers: asOperator })).status).toBe(200);
    copyFileSync(fixture('with-audio.mp4'), join(ws.inbox, 'second.mp4'));
    await waitFor('job 2 to be queued', async () => ((JSON.parse((await send(port, '/api/jobs/2', { headers: asOperator })).body) as { state?: string }).state === 'queued' ? true : undefined), 30_000, 100);

    const reads = ['/', '/jobs/1', '/api/jobs', '/api/jobs/1', '/metrics', '/jobs/1/preview.mp4', '/api/jobs/1/output', '/jobs/1/chunks/0/log', '/api/events'];
    const actions: { path: string; body?: Buffer }[] = [{ path: '/api/jobs/2/cancel' }, { path: `/api/upload?name=${encodeURIComponent('dropped.mp4')}`, body: readFileSync(fixture('with-audio.mp4')) }, { path: '/api/intake/unpause' }];

    // Without a login: 401 and a body that names nothing, or, for a browser's page request, 303 to the login page.
    for (const path of reads) {
      for (const accept of ['*/*', 'text/html,application/xhtml+xml']) {
        const r = await send(port, path, { headers: { accept } });
        expect(r.body, path).not.toContain('quarterly');
        expect(r.body, path).not.toContain('second.mp4');
        if (accept === '*/*') {
          expect([r.status, r.headers['www-authenticate']], path).toEqual([401, 'Bearer realm="posepipe"']);
          expect(JSON.parse(r.body), path).toEqual({ error: 'Log in first: send Authorization: Bearer <token> (posepipe token prints it), or log in at /login' });
        } else {
          expect([r.status, r.headers.location], path).toEqual([303, `/login?next=${encodeURIComponent(path)}`]);
        }
      }
    }
    // Actions without Origin (a forged request from a script or curl): 401, and nothing happened.
    for (const { path, body } of actions) {
      const r = await send(port, path, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
      expect([r.status, r.body], path).toEqual([401, JSON.stringify({ error: 'Log in first: send Authorization: Bearer <token> (posepipe token prints it), or log in at /login' })]);
    }
    const job2 = async () => JSON.parse((await send(port, '/api/jobs/2', { headers: asOperator })).body) as { state: string };
    expect((await job2()).state).toBe('queued');
    const jobs = JSON.parse((await send(port, '/api/jobs', { headers: asOperator })).body) as { total: number; intakePaused: boolean };
    expect([jobs.total, jobs.intakePaused]).toEqual([2, true]);

    // The viewer reads everything, and acts on nothing (403).
    for (const path of reads) {
      const r = await send(port, path, { headers: bearer(viewer), firstBytes: path === '/api/events' ? 10 : undefined });
      expect(r.status, path).toBe(200);
    }
    expect((await send(port, '/api/jobs/1', { headers: bearer(viewer) })).body).toContain(SECRET_NAME);
    for (const { path, body } of actions) {
      const r = await send(port, path, { method: 'POST', body, headers: { ...bearer(viewer), 'content-type': 'application/octet-stream' } });
      expect([r.status, r.body], path).toEqual([403, JSON.stringify({ error: 'The read-only (viewer) token cannot change anything: log in with the operator token' })]);
    }
    expect((await job2()).state).toBe('queued');

    // The operator does everything.
    for (const path of reads) expect((await send(port, path, { headers: asOperator, firstBytes: path === '/api/events' ? 10 : undefined })).status, path).toBe(200);
    const answers = [];
    for (const { path, body } of actions) answers.push((await send(port, path, { method: 'POST', body, headers: { ...asOperator, 'content-type': 'application/octet-stream' } })).status);
    expect(answers).toEqual([200, 201, 200]);
    expect(readFileSync(join(ws.inbox, 'dropped.mp4')).equals(readFileSync(fixture('with-audio.mp4')))).toBe(true);
    expect((await job2()).state).toBe('cancelled');

    // The worker token opens no page; the page tokens are no worker's.
    expect((await send(port, '/api/jobs', { headers: bearer(WORKER_TOKEN) })).status).toBe(401);
    const hello = (token: string) => send(port, '/worker/v1/hello', { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ slots: [] }) });
    expect([(await hello(operator)).status, (await hello(viewer)).status, (await hello(WORKER_TOKEN)).status]).toEqual([401, 401, 200]);

    // Wrong tokens from one address: five are answered 401, then 429 with Retry-After, even for the
    // right token (it is not checked while throttled). Another address is not affected.
    const wrong = [];
    for (let i = 0; i < 6; i++) wrong.push(await send(port, '/api/jobs', { headers: bearer(`wrong-token-${i}-0123456789`), from: '127.0.0.3' }));
    expect(wrong.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 429]);
    expect(Number(wrong[5]!.headers['retry-after'])).toBeGreaterThan(50);
    expect(Number(wrong[5]!.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect((await send(port, '/api/jobs', { headers: asOperator, from: '127.0.0.3' })).status).toBe(429);
    expect((await send(port, `/login?token=${operator}`, { from: '127.0.0.3' })).status).toBe(429);
    expect((await send(port, '/api/jobs', { headers: asOperator, from: '127.0.0.4' })).status).toBe(200);

    // A browser session from the printed address: the token leaves the URL with a 303 to the page.
    const login = await send(port, `/login?token=${operator}`);
    expect([login.status, login.headers.location]).toEqual([303, '/']);
    const cookie = String(login.headers['set-cookie']);
    expect(cookie).toMatch(new RegExp(`^posepipe_session_${port}=operator\\.[^;]+; Max-Age=2592000; Path=/; HttpOnly; SameSite=Strict$`));
    const session = { cookie: cookie.split(';')[0]!, accept: 'text/html' };
    expect((await send(port, '/', { headers: session })).status).toBe(200);

    // Rotation by the real CLI while the server runs: the old token and its session stop working.
    const rotated = await runCli(['token', '--rotate'], cliEnv(ws));
    expect(rotated.code, rotated.stderr).toBe(0);
    const fresh = rotated.stdout.trim();
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fresh).not.toBe(operator);
    expect(statSync(join(ws.home, 'page-token')).mode & 0o777).toBe(0o600);
    expect((await send(port, '/api/jobs', { headers: asOperator })).status).toBe(401);
    expect([(await send(port, '/', { headers: session })).status]).toEqual([303]);
    expect((await send(port, '/api/jobs', { headers: { cookie: session.cookie } })).status).toBe(401);
    expect((await send(port, '/api/jobs', { headers: bearer(fresh) })).status).toBe(200);
    expect((await send(port, '/api/jobs', { headers: bearer(viewer) })).status).toBe(200);
    // `posepipe token --viewer` prints the viewer's, which the rotation of the operator's left alone.
    const printedViewer = await runCli(['token', '--viewer'], cliEnv(ws));
    expect([printedViewer.code, printedViewer.stdout]).toEqual([0, `${viewer}\n`]);
  }, 180_000);

  it('refuses auth=off beyond loopback (exit 2, naming the key); beyond loopback by default makes the tokens, prints a login address and keeps them with mode 0600', async () => {
    const ws = workspace('login-exposed');
    const off = await runCli(['start', '--host', '0.0.0.0', '--auth', 'off'], cliEnv(ws));
    expect(off.code).toBe(2);
    expect(off.stderr).toContain('Invalid auth (from --auth): off would open the status page and its actions to anyone who reaches "0.0.0.0"');

    const { app, port, operator, viewer } = await start(ws, ['--host', '0.0.0.0'], {});
    for (const [file, token] of [['page-token', operator], ['viewer-token', viewer]] as const) {
      expect(statSync(join(ws.home, file)).mode & 0o777, file).toBe(0o600);
      expect(readFileSync(join(ws.home, file), 'utf8'), file).toBe(`${token}\n`);
    }
    expect(app.output()).toContain(`posepipe: tokens kept in ${join(ws.home, 'page-token')} and ${join(ws.home, 'viewer-token')} (mode 0600)`);
    expect((await send(port, '/api/jobs')).status).toBe(401);
    expect((await send(port, '/api/jobs', { headers: bearer(operator) })).status).toBe(200);
    app.child.kill('SIGTERM');
    expect((await app.done).code).toBe(0);

    // A token file others may read is refused at start (it may have leaked); a rotation replaces it.
    chmodSync(join(ws.home, 'page-token'), 0o644);
    const leaked = await runCli(['start', '--host', '0.0.0.0'], cliEnv(ws));
    expect(leaked.code).toBe(2);
    expect(leaked.stderr).toContain(`Cannot use the token file ${join(ws.home, 'page-token')}: others may read or change it (mode 0644), so the token may have leaked; run posepipe token --rotate`);
    const rotated = await runCli(['token', '--rotate'], cliEnv(ws));
    expect([rotated.code, rotated.stdout]).toEqual([0, readFileSync(join(ws.home, 'page-token'), 'utf8')]);
    expect(rotated.stderr).toContain(`posepipe: the page (operator) token in ${join(ws.home, 'page-token')} was replaced`);
    expect(statSync(join(ws.home, 'page-token')).mode & 0o777).toBe(0o600);

    // A token from the environment is used as it is, and named rather than printed.
    const fromEnv = spawnApp(['start', '--auth', 'on'], cliEnv(ws, { POSEPIPE_PAGE_TOKEN: 'operator-from-env-0123456789' }));
    const envPort = await waitFor('the login line naming POSEPIPE_PAGE_TOKEN', () => /posepipe: log in at http:\/\/127\.0\.0\.1:(\d+)\/login with the page token from POSEPIPE_PAGE_TOKEN\n/.exec(fromEnv.output())?.[1], 30_000);
    expect(fromEnv.output()).not.toContain('operator-from-env');
    expect((await send(Number(envPort), '/api/jobs', { headers: bearer('operator-from-env-0123456789') })).status).toBe(200);
  }, 120_000);
});
