import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pullModels, type ModelFile } from '../../src/models/index.ts';
import { workspacesPerTest } from '../helpers/workspace.ts';
import type { FileServer, Route } from './file-server.ts';
import { closedPortUrl, fast, fileServersPerTest, HOST, manifestOf, md5, output } from './pull-helpers.ts';

const A = randomBytes(200 * 1024);
const PATH = `/${HOST}/files/a.bin`;
const workspace = workspacesPerTest();
const serve = fileServersPerTest();

/** a.bin as most manifest entries are: no size, no hash (upstream publishes none); `dest` holds `content`. */
function inPlace(root: string, content: Buffer): ModelFile {
  const file: ModelFile = { name: 'a.bin', url: `https://${HOST}/files/a.bin`, dest: join(root, 'models', 'a.bin') };
  mkdirSync(dirname(file.dest), { recursive: true });
  writeFileSync(file.dest, content);
  return file;
}
const seen = (s: FileServer) => s.requests.map((r) => `${r.method} ${r.path}${r.range === undefined ? '' : ` ${r.range}`}`);

describe('a file in place that the manifest gives no size: its size is asked of the server', () => {
  it('fetches again a truncated destination found by a HEAD (redirects followed); a whole one gets one HEAD and no GET', async () => {
    const ws = workspace('models');
    const s = await serve({ '/cdn/a.bin': { body: A } }, { [PATH]: '/cdn/a.bin' });
    const file = inPlace(ws.root, A.subarray(0, 1000));
    const out = output();
    const report = await pullModels({ manifest: manifestOf([file]), mirror: s.base, out, ...fast });
    expect([report.exitCode, report.fetched.length]).toEqual([0, 1]);
    expect(readFileSync(file.dest).equals(A)).toBe(true);
    expect(out.text).toContain(`is corrupt (size mismatch: the server announces ${A.length} bytes, the file has 1000); fetching it again`);
    expect(seen(s)).toEqual([`HEAD ${PATH}`, 'HEAD /cdn/a.bin', `GET ${PATH}`, 'GET /cdn/a.bin']);

    s.requests.length = 0;
    const again = output();
    expect((await pullModels({ manifest: manifestOf([file]), mirror: s.base, out: again, ...fast })).present).toHaveLength(1);
    expect(again.text).toContain('a.bin: ok (already there)\n');
    expect(seen(s)).toEqual([`HEAD ${PATH}`, 'HEAD /cdn/a.bin']);
  });

  it('asks a server that refuses HEAD (405) for the first byte and reads the total from Content-Range, or the length of a 200', async () => {
    const ws = workspace('models');
    const routes = (route: Partial<Route>) => ({ [PATH]: { body: A, refuseHead: true, ...route } });
    const s = await serve(routes({}));
    const file = inPlace(ws.root, A.subarray(0, 5000));
    const out = output();
    expect((await pullModels({ manifest: manifestOf([file]), mirror: s.base, out, ...fast })).fetched).toHaveLength(1);
    expect(out.text).toContain(`(size mismatch: the server announces ${A.length} bytes, the file has 5000)`);
    expect(seen(s)).toEqual([`HEAD ${PATH}`, `GET ${PATH} bytes=0-0`, `GET ${PATH}`]);
    expect(readFileSync(file.dest).equals(A)).toBe(true);

    // A whole file is left alone, also by a server that ignores the range and starts sending it all.
    for (const route of [{}, { ignoreRange: true }]) {
      const t = await serve(routes(route));
      const report = await pullModels({ manifest: manifestOf([file]), mirror: t.base, out: output(), ...fast });
      expect([report.exitCode, report.present.length]).toEqual([0, 1]);
      expect(seen(t)).toEqual([`HEAD ${PATH}`, `GET ${PATH} bytes=0-0`]);
    }
  });

  it('keeps the file, saying its size was not checked, when no server tells the size (closed port, 404, a web page); exit 0', async () => {
    const ws = workspace('models');
    const file = inPlace(ws.root, A.subarray(0, 1000));
    const closed = await closedPortUrl();
    const offline = output();
    const report = await pullModels({ manifest: manifestOf([file]), mirror: closed, out: offline, ...fast });
    expect([report.exitCode, report.present.length]).toEqual([0, 1]);
    expect(offline.text).toMatch(/a\.bin: ok \(already there; size not checked: cannot connect: connect ECONNREFUSED 127\.0\.0\.1:\d+\)\n/);

    // A dead link's page served with a 200 must not get the file replaced by the page.
    const s = await serve({ '/elsewhere/a.bin': { body: Buffer.from('<html>moved</html>'), contentType: 'text/html; charset=utf-8' } });
    const withCopy = { ...file, url: `${s.base}/files/a.bin`, alternates: [`${s.base}/elsewhere/a.bin`] };
    const out = output();
    expect((await pullModels({ manifest: manifestOf([withCopy]), out, ...fast })).exitCode).toBe(0);
    expect(out.text).toContain(
      `a.bin: ok (already there; size not checked: ${s.base}/files/a.bin: HTTP 404 Not Found; ${s.base}/elsewhere/a.bin: the server answers with a web page (text/html), not the file)\n`,
    );
    expect(readFileSync(file.dest).equals(A.subarray(0, 1000))).toBe(true);
  });

  it('asks an alternate when the URL gives no size, and asks nothing about files with a size or hash, or archives', async () => {
    const ws = workspace('models');
    const s = await serve({ '/copy.example.net/copy/a.bin': { body: A } });
    const file = { ...inPlace(ws.root, A.subarray(0, 1000)), alternates: ['https://copy.example.net/copy/a.bin'] };
    const out = output();
    expect((await pullModels({ manifest: manifestOf([file]), mirror: s.base, out, ...fast })).fetched).toHaveLength(1);
    expect(seen(s)).toEqual([`HEAD ${PATH}`, 'HEAD /copy.example.net/copy/a.bin', `GET ${PATH}`, 'GET /copy.example.net/copy/a.bin']);
    expect(readFileSync(file.dest).equals(A)).toBe(true);

    s.requests.length = 0;
    const sized: ModelFile = { name: 'sized', url: `https://${HOST}/sized`, dest: file.dest, size: A.length };
    const hashed: ModelFile = { name: 'hashed', url: `https://${HOST}/hashed`, dest: join(ws.root, 'hashed'), md5Prefix: md5(A.subarray(0, 10)).slice(0, 6) };
    writeFileSync(hashed.dest, A.subarray(0, 10));
    const archive: ModelFile = { name: 'data.tar.gz', url: `https://${HOST}/data.tar.gz`, dest: join(ws.root, 'data.tar.gz'), unpack: { into: ws.root, provides: [file.dest] } };
    const report = await pullModels({ manifest: manifestOf([sized, hashed, archive]), mirror: s.base, out: output(), ...fast });
    expect([report.exitCode, report.present.length]).toEqual([0, 3]);
    expect(s.requests).toEqual([]);
  });
});
