import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';
import { expectInert } from './inert.ts';
import { failedJob } from './seed.ts';

const HOSTILE = `<script>alert(1)</script>"'<img src=x onerror=alert(2)>.mp4`;
let h: Harness;

beforeEach(async () => {
  h = await startHarness();
  failedJob(h.db, HOSTILE, { kind: 'input', text: 'Cannot stage "<b>bold</b>"' });
});
afterEach(() => h.stop());

describe('status page basics', () => {
  it('listens on 127.0.0.1 and sends a CSP header, JSON as application/json', async () => {
    expect(h.server.url).toBe(`http://127.0.0.1:${h.server.port}/`);
    const page = await h.send('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("media-src 'self'");
    expect(page.body).toContain('<script src="/static/page.js" defer></script>');
    const api = await h.send('/api/jobs');
    expect(api.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(api.body).jobs[0].name).toBe(HOSTILE);
  });

  it('serves the page script as a file, with the CSP, and no inline script or handler anywhere', async () => {
    const js = await h.send('/static/page.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.body).toContain("new EventSource('/api/events')");
    expect(js.body).toContain("'X-Posepipe-Fragment': '1'");
    for (const path of ['/', '/jobs/1']) {
      const page = await h.send(path);
      expect(page.body.match(/<script[^>]*>/g), path).toEqual(['<script src="/static/page.js" defer>', '<script src="/static/player.js" defer>']);
      expectInert(page.body, path);
    }
  });

  it('refuses a foreign Host header before routing (DNS rebinding), with the security headers', async () => {
    for (const host of ['evil.example', `evil.example:${h.server.port}`, '127.0.0.1:1', `127.0.0.1.evil.example:${h.server.port}`]) {
      for (const path of ['/api/jobs', '/', '/metrics', '/api/events', '/no/such/route']) {
        const r = await h.send(path, { headers: { host } });
        expect(r.status, `${host} ${path}`).toBe(403);
        expect(r.headers['content-security-policy']).toContain("default-src 'none'");
        expect(r.body).not.toContain('alert');
      }
    }
    const post = await h.send('/api/jobs/1/resume', { method: 'POST', headers: { host: 'evil.example', origin: 'http://evil.example' } });
    expect(post.status).toBe(403);
    expect(h.db.getJob(1)!.state).toBe('failed');
    expect((await h.send('/api/jobs', { headers: { host: `localhost:${h.server.port}` } })).status).toBe(200);
  });

  it('answers unknown paths with a 404 that carries the CSP, as HTML to browsers and JSON otherwise', async () => {
    const json = await h.send('/nothing');
    expect([json.status, JSON.parse(json.body).error]).toEqual([404, 'Nothing at /nothing']);
    const html = await h.send('/jobs/99', { headers: { accept: 'text/html' } });
    expect(html.status).toBe(404);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toContain('No job 99');
    expect(html.headers['content-security-policy']).toContain("default-src 'none'");
    // The JSON API stays JSON even for a browser.
    const api = await h.send('/api/jobs/99', { headers: { accept: 'text/html' } });
    expect([api.status, api.headers['content-type']]).toEqual([404, 'application/json']);
  });

  it('rejects unknown state filters and limits with a 400 naming the allowed values', async () => {
    const r = await h.send('/api/jobs?state=<b>');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error).toContain('use one of all, queued, running, done, failed, cancelled');
    const page = await h.send('/?state=%3Cb%3E', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(400);
    expect(page.body).not.toContain('<b>');
    expect((await h.send('/api/jobs?limit=100000')).status).toBe(400);
    expect((await h.send('/jobs/1?chunkState=nope')).status).toBe(400);
  });
});
