import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listModels, pullModels, type ModelFile } from '../../src/models/index.ts';
import { workspacesPerTest } from '../helpers/workspace.ts';
import { closedPortUrl, fast, fileServersPerTest, HOST, manifestOf, output, sha256 } from './pull-helpers.ts';

const MIRROR_HOST = 'mirror.example.net';
const A = randomBytes(200 * 1024);
const workspace = workspacesPerTest();
const serve = fileServersPerTest();

/** a.bin as 4D-Humans' hmr2_data.tar.gz stands: its own URL dead, a copy on another host. */
function withAlternates(root: string, alternates: string[], url = `https://${HOST}/dead/a.bin`): ModelFile {
  return { name: 'a.bin', url, alternates, dest: join(root, 'models', 'a.bin'), sha256: sha256(A) };
}

describe('alternates: further URLs of a file, tried in order when the first fails for good', () => {
  it('fetches from the alternate when the URL answers 404, both mapped onto the mirror, and says which URL served it', async () => {
    const ws = workspace('models');
    const s = await serve({ [`/${MIRROR_HOST}/copy/a.bin`]: { body: A } });
    const file = withAlternates(ws.root, [`https://${MIRROR_HOST}/copy/a.bin`]);
    const out = output();
    const report = await pullModels({ manifest: manifestOf([file]), mirror: s.base, out, ...fast });
    expect([report.exitCode, report.fetched.length]).toEqual([0, 1]);
    expect(readFileSync(file.dest).equals(A)).toBe(true);
    const [dead, copy] = [`${s.base}/${HOST}/dead/a.bin`, `${s.base}/${MIRROR_HOST}/copy/a.bin`];
    expect(out.text).toContain(`a.bin: ${dead} failed (HTTP 404 Not Found); trying ${copy}\n`);
    expect(out.text).toMatch(new RegExp(`a\\.bin: fetched 200 KB in [\\d.]+ s.* from ${copy.replace(/[.]/g, '\\.')}\\n`));
    expect(s.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /${HOST}/dead/a.bin`, `GET /${MIRROR_HOST}/copy/a.bin`]);
  });

  it('moves on from a URL serving the wrong file twice, one failing past its retries (503), one gone (410); bytes from one host are not finished from another', async () => {
    const ws = workspace('models');
    const wrong = randomBytes(A.length);
    const s = await serve({
      '/wrong/a.bin': { body: wrong },
      // Sends 1000 bytes, then fails the resume: its part must not be completed by the next host.
      '/cut/a.bin': { body: A, dropAt: 1000, status: (n) => (n >= 1 ? 503 : undefined) },
      '/gone/a.bin': { body: A, status: () => 410 },
      '/copy/a.bin': { body: A },
    });
    const urls = ['/wrong/a.bin', '/cut/a.bin', '/gone/a.bin', '/copy/a.bin'].map((p) => `${s.base}${p}`);
    const file = withAlternates(ws.root, urls.slice(1), urls[0]);
    const out = output();
    const report = await pullModels({ manifest: manifestOf([file]), out, ...fast, tries: 2 });
    expect(report.exitCode).toBe(0);
    expect(readFileSync(file.dest).equals(A)).toBe(true);
    expect(out.text).toContain(`${urls[0]} failed (sha256 mismatch: expected ${sha256(A)}, got ${sha256(wrong)}); trying ${urls[1]}`);
    expect(out.text).toContain(`${urls[1]} failed (HTTP 503 Service Unavailable); trying ${urls[2]}`);
    expect(out.text).toContain(`${urls[2]} failed (HTTP 410 Gone); trying ${urls[3]}`);
    expect(s.seen('/wrong/a.bin')).toHaveLength(2);
    expect(s.seen('/cut/a.bin').map((r) => r.range)).toEqual([undefined, 'bytes=1000-']);
    expect(s.seen('/copy/a.bin').map((r) => r.range)).toEqual([undefined]);
  });

  it('never takes a web page for the file: a dead link answering 200 with text/html hands over to the next URL', async () => {
    const ws = workspace('models');
    const s = await serve({
      '/dead/page.bin': { body: Buffer.from('<html><body>This page has moved</body></html>'), contentType: 'text/html; charset=utf-8' },
      '/copy/page.bin': { body: A },
    });
    // No size or hash in the manifest (as 4D-Humans' archive): only the content type gives the page away.
    const file: ModelFile = { name: 'page.bin', url: `${s.base}/dead/page.bin`, alternates: [`${s.base}/copy/page.bin`], dest: join(ws.root, 'models', 'page.bin') };
    const out = output();
    const report = await pullModels({ manifest: manifestOf([file]), out, ...fast });
    expect(report.exitCode).toBe(0);
    expect(readFileSync(file.dest).equals(A)).toBe(true);
    expect(out.text).toContain(`${s.base}/dead/page.bin failed (the server answered with a web page (text/html), not the file); trying ${s.base}/copy/page.bin`);
    expect(existsSync(`${file.dest}.part`)).toBe(false);
  });

  it('fails naming every URL tried with its cause when none serves the file; exit 2', async () => {
    const ws = workspace('models');
    const s = await serve({ '/gone/a.bin': { body: A, status: () => 410 } });
    const closed = await closedPortUrl();
    const urls = [`${s.base}/dead/a.bin`, `${s.base}/gone/a.bin`, `${closed}/a.bin`];
    const file = withAlternates(ws.root, urls.slice(1), urls[0]);
    const out = output();
    const report = await pullModels({ manifest: manifestOf([file]), out, ...fast, tries: 2 });
    expect(report.exitCode).toBe(2);
    const refused = expect.stringMatching(/^cannot connect: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    expect(report.failed).toEqual([
      {
        name: 'a.bin',
        url: urls[0],
        dest: file.dest,
        cause: expect.stringMatching(new RegExp(`^all 3 URLs failed: ${urls[0]}: HTTP 404 Not Found; ${urls[1]}: HTTP 410 Gone; ${urls[2]}: cannot connect: connect ECONNREFUSED`)),
        tried: [
          { url: urls[0], cause: 'HTTP 404 Not Found' },
          { url: urls[1], cause: 'HTTP 410 Gone' },
          { url: urls[2], cause: refused },
        ],
      },
    ]);
    expect(out.text).toContain(`a.bin: FAILED: all 3 URLs failed: ${urls[0]}: HTTP 404 Not Found;`);
    expect(out.text).toMatch(
      new RegExp(
        `FAILED a\\.bin: all 3 URLs failed\\n  url:  ${urls[0]} \\(HTTP 404 Not Found\\)\\n  also: ${urls[1]} \\(HTTP 410 Gone\\)\\n  also: ${urls[2]} \\(cannot connect: connect ECONNREFUSED [\\d.:]+\\)\\n  dest: `,
      ),
    );
    expect(existsSync(file.dest) || existsSync(`${file.dest}.part`)).toBe(false);
  });

  it('--list prints each alternate, mirror-mapped, under the URL', () => {
    const ws = workspace('models');
    const file = withAlternates(ws.root, [`https://${MIRROR_HOST}/copy/a.bin`, 'https://third.example.com/a.bin']);
    const out = output();
    listModels({ manifest: manifestOf([file]), mirror: 'http://127.0.0.1:9/cache', out });
    expect(out.text).toContain(
      `a.bin\n  url:  http://127.0.0.1:9/cache/${HOST}/dead/a.bin\n  also: http://127.0.0.1:9/cache/${MIRROR_HOST}/copy/a.bin\n  also: http://127.0.0.1:9/cache/third.example.com/a.bin\n  dest: `,
    );
  });
});
