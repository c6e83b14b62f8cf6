import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openDb, type Db } from '../../src/db/index.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
let db: Db;
let server: RunningServer;
let resumed: number[];

/** A raw HTTP request, so tests can send any Host, Origin and Sec-Fetch-Site header. */
function send(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: opts.method ?? 'GET', headers: { host: `127.0.0.1:${server.port}`, ...opts.headers } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

beforeEach(async () => {
  ws = makeWorkspace('server');
  db = openDb(ws.home);
  const config = loadConfig({ env: { HOME: ws.root, POSEPIPE_HOME: ws.home, POSEPIPE_OUTBOX: ws.outbox, POSEPIPE_PORT: '0' }, wsl: false });
  const { job } = db.createJob({ sourceName: '<script>alert(1)</script> "x" <img src=x onerror=alert(2)>.mp4', sourcePath: '/in/x', sha256: 'a'.repeat(64), bytes: 1 });
  db.claimJob(job.id);
  db.startStage(job.id, 'stage');
  db.failStage(job.id, 'stage', { kind: 'input', text: 'Cannot stage "<b>bold</b>"' });
  db.failJob(job.id, { kind: 'input', text: 'Cannot stage "<b>bold</b>"' });
  resumed = [];
  server = await startServer({ db, config, onResume: (id) => resumed.push(id) });
});
afterEach(async () => {
  await server.close();
  db.close();
  ws.cleanup();
});

describe('status page', () => {
  it('listens on 127.0.0.1 and escapes every name and error, with a CSP header', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    const page = await send('/');
    expect(page.status).toBe(200);
    expect(page.body).not.toContain('<script>alert');
    expect(page.body).not.toContain('<img src=x');
    expect(page.body).toContain('&#60;script&#62;alert(1)&#60;/script&#62; &#34;x&#34;');
    expect(page.body).toContain('&#60;b&#62;bold&#60;/b&#62;');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    const job = await send('/jobs/1');
    expect(job.body).not.toContain('<script>alert');
    const api = await send('/api/jobs');
    expect(api.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(api.body).jobs[0].name).toBe('<script>alert(1)</script> "x" <img src=x onerror=alert(2)>.mp4');
  });

  it('refuses a foreign Host header before routing (DNS rebinding)', async () => {
    for (const host of ['evil.example', `evil.example:${server.port}`, '127.0.0.1:1']) {
      const r = await send('/api/jobs', { headers: { host } });
      expect(r.status, host).toBe(403);
      expect(r.body).not.toContain('alert');
    }
    expect((await send('/api/jobs', { headers: { host: `localhost:${server.port}` } })).status).toBe(200);
  });

  it('refuses cross-site POSTs of any content type, or none, and resumes a same-origin one exactly once', async () => {
    const path = '/api/jobs/1/resume';
    const attacks: Record<string, string>[] = [
      { origin: 'http://evil.example' },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'http://evil.example', 'content-type': 'text/plain' },
      { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
    ];
    for (const headers of attacks) {
      const r = await send(path, { method: 'POST', headers });
      expect(r.status, JSON.stringify(headers)).toBe(403);
    }
    expect(db.getJob(1)!.state).toBe('failed');

    const origin = `http://127.0.0.1:${server.port}`;
    const first = await send(path, { method: 'POST', headers: { origin, 'sec-fetch-site': 'same-origin' } });
    expect([first.status, JSON.parse(first.body)]).toEqual([200, { id: 1, state: 'queued' }]);
    const second = await send(path, { method: 'POST', headers: { origin } });
    expect([second.status, JSON.parse(second.body)]).toEqual([409, { error: 'job 1 is not failed (it is queued)' }]);
    expect(resumed).toEqual([1]);
  });

  it('answers two resumes sent at once with one transition and one 409', async () => {
    const origin = `http://127.0.0.1:${server.port}`;
    const both = await Promise.all([1, 2].map(() => send('/api/jobs/1/resume', { method: 'POST', headers: { origin } })));
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(resumed).toEqual([1]);
    expect(db.getJob(1)!.state).toBe('queued');
  });

  it('serves nothing outside a job: unknown ids and traversal attempts are refused', async () => {
    for (const path of ['/api/jobs/..%2F..%2Fetc%2Fpasswd', '/api/jobs/1%2F..%2F2', '/jobs/-1', '/api/jobs/1/../../../etc/passwd', '//etc/passwd', '/api/jobs/99/output', '/api/jobs/1/output', '/api/jobs/1\\..\\x']) {
      const r = await send(path);
      // Node's parser itself answers 400 to a raw backslash; everything else reaches our 404.
      expect(path.includes('\\') ? 400 : 404, path).toBe(r.status);
      expect(r.body).not.toContain('root:');
    }
  });
});
