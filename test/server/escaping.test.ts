import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';
import { expectInert } from './inert.ts';
import { chunkDone, chunkedJob, chunkFailed, doneJob, failAtTrack, failedJob, queuedJob } from './seed.ts';

const HOSTILE = `<script>alert(1)</script>"'<img src=x onerror=alert(2)>`;
const ESCAPED = '&#60;script&#62;alert(1)&#60;/script&#62;&#34;&#39;&#60;img src=x onerror=alert(2)&#62;';
const MARKUP_ERROR = { kind: 'crash' as const, text: `worker died on "${HOSTILE}"\n<i>second line</i>`, exitCode: 1, stderrTail: `Traceback\n</pre><script>alert(3)</script>\n${HOSTILE}` };

let h: Harness;
let ids: Record<string, number>;

beforeEach(async () => {
  h = await startHarness();
  const { db, config } = h;
  ids = {
    failed: failedJob(db, `${HOSTILE}.mp4`, { kind: 'input', text: `Cannot probe "${HOSTILE}": <b>bold</b>` }),
    queued: queuedJob(db, `${HOSTILE} queued.mov`),
    running: chunkedJob(db, { name: `${HOSTILE} running.mp4`, chunks: 3 }),
    chunkFailed: chunkedJob(db, { name: `${HOSTILE} chunks.mp4`, chunks: 3 }),
    done: doneJob(db, config, { name: `${HOSTILE} done.mp4`, chunks: 2 }),
  };
  db.startChunk(ids.running!, 0);
  chunkDone(db, ids.chunkFailed!, 0);
  chunkFailed(db, ids.chunkFailed!, 1, MARKUP_ERROR);
  failAtTrack(db, ids.chunkFailed!, MARKUP_ERROR);
});
afterEach(() => h.stop());

describe('escaping', () => {
  it('the inertness check itself catches live markup', () => {
    expect(() => expectInert('<p>ok</p><img src=x onerror=alert(2)>', 'sample')).toThrow();
    expect(() => expectInert('<a title="x" onclick="y">', 'sample')).toThrow();
    expect(() => expectInert('<script>alert(1)</script>', 'sample')).toThrow();
    expectInert(`<p title="${ESCAPED}">${ESCAPED}</p>`, 'sample');
  });

  it('renders hostile names, errors and stderr tails inert on every page and fragment', async () => {
    const paths = ['/', '/?state=failed', '/?state=running', '/?state=queued', '/?state=done', ...Object.values(ids).flatMap((id) => [`/jobs/${id}`, `/jobs/${id}?chunkState=failed`])];
    for (const path of paths) {
      for (const fragment of [false, true]) {
        const r = await h.send(path, { headers: fragment ? { 'x-posepipe-fragment': '1' } : {} });
        const where = `${path}${fragment ? ' (fragment)' : ''}`;
        expect(r.status, where).toBe(200);
        expect(r.headers['content-security-policy'], where).toContain("script-src 'self'");
        expectInert(r.body, where);
        if (fragment) expect(r.body, where).toMatch(/^<main [^>]*>[\s\S]*<\/main>$/);
      }
    }
    const list = (await h.send('/')).body;
    expect(list).toContain(`${ESCAPED}.mp4`);
    expect(list).toContain('Cannot probe &#34;' + ESCAPED);
    const chunkPage = (await h.send(`/jobs/${ids.chunkFailed}`)).body;
    expect(chunkPage).toContain('&#60;/pre&#62;&#60;script&#62;alert(3)&#60;/script&#62;');
    expect(chunkPage).toContain('&#60;i&#62;second line&#60;/i&#62;');
  });

  it('keeps names intact in the JSON API', async () => {
    const list = JSON.parse((await h.send('/api/jobs')).body) as { jobs: { name: string }[] };
    expect(list.jobs.map((j) => j.name)).toContain(`${HOSTILE}.mp4`);
    const one = JSON.parse((await h.send(`/api/jobs/${ids.chunkFailed}`)).body) as { chunkList: { error: { stderrTail: string } | null }[] };
    expect(one.chunkList[1]!.error!.stderrTail).toBe(MARKUP_ERROR.stderrTail);
  });

  it('escapes what a URL carries into an error page', async () => {
    for (const path of [`/jobs/%3Cscript%3Ealert(1)%3C%2Fscript%3E`, `/%3Cimg%20src=x%20onerror=alert(2)%3E`, `/jobs/1?chunkState=%3Cscript%3E`]) {
      const r = await h.send(path, { headers: { accept: 'text/html' } });
      expect(r.status, path).toBeGreaterThanOrEqual(400);
      expect(r.headers['content-type'], path).toMatch(/^text\/html/);
      expectInert(r.body, path);
    }
  });
});
