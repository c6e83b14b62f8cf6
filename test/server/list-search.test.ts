import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHarness, type Harness } from './harness.ts';
import { tags } from './inert.ts';
import { failedJob, queuedJob } from './seed.ts';

let h: Harness;
const ids: Record<string, number> = {};
const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);

beforeAll(async () => {
  h = await startHarness();
  // Created a minute apart; finished in an order of their own (not the order they were made).
  vi.useFakeTimers({ toFake: ['Date'] });
  try {
    const at = (minutes: number) => vi.setSystemTime(T0 + minutes * 60_000);
    at(0);
    ids.alpha = queuedJob(h.db, 'Alpha.mp4');
    at(1);
    ids.under = failedJob(h.db, 'beta_1.mp4', { kind: 'input', text: 'not a video' });
    at(2);
    ids.percent = queuedJob(h.db, 'beta%2.mp4');
    at(3);
    ids.upper = queuedJob(h.db, 'BETAx1.MP4');
    at(4);
    ids.gamma = failedJob(h.db, 'gamma.mp4', { kind: 'input', text: 'not a video' });
    at(10);
    h.db.cancelJob(ids.percent); // finished at 10, after gamma (4) and beta_1 (1)
  } finally {
    vi.useRealTimers();
  }
});
afterAll(() => h.stop());

/** The list's job ids in page order. */
const order = (html: string) => tags(html).filter((t) => t.name === 'tr' && t.attrs.has('data-job')).map((t) => Number(t.attrs.get('data-job')));
const api = async (q: string) => JSON.parse((await h.send(`/api/jobs${q}`)).body) as { jobs: { id: number }[]; total: number; sort: string; dir: string; q: string; matching: Record<string, number> };
const hrefOf = (html: string, attr: string, value: string) => tags(html).find((t) => t.attrs.get(attr) === value)?.attrs.get('href')?.replaceAll('&#38;', '&');
const headingHref = (html: string, sort: string) => {
  const at = html.indexOf(`<th data-sort="${sort}"`);
  return html.slice(at, html.indexOf('</th>', at)).match(/href="([^"]*)"/)![1]!.replaceAll('&#38;', '&');
};

describe('jobs list search and sort', () => {
  it('searches file names for a part, in any case, with % and _ as plain characters', async () => {
    expect(order((await h.send('/?q=BETA')).body)).toEqual([ids.upper, ids.percent, ids.under]);
    expect(order((await h.send('/?q=a_1')).body)).toEqual([ids.under]); // not BETAx1: _ is no wildcard
    expect(order((await h.send('/?q=%25')).body)).toEqual([ids.percent]);
    expect(order((await h.send('/?q=%20%20alpha%20')).body)).toEqual([ids.alpha]); // trimmed
    const none = (await h.send('/?q=zeta&state=failed')).body;
    expect(order(none)).toEqual([]);
    expect(none).toContain('No failed jobs with “zeta” in the file name.');
    // The tabs count what matches; the API keeps every job's counts beside them.
    const page = (await h.send('/?q=beta')).body;
    expect(page).toMatch(/data-filter="failed"[^>]*>Failed<span class="n">1</);
    expect(page).toMatch(/data-filter="all"[^>]*>All<span class="n">3</);
    expect(page).toContain('value="beta"');
    expect(hrefOf(page, 'data-filter', 'failed')).toBe('/?state=failed&q=beta');
    expect(hrefOf(page, 'id', 'search-clear')).toBe('/');
    const json = await api('?q=beta&state=queued');
    expect([json.jobs.map((j) => j.id), json.total, json.q, json.matching.queued]).toEqual([[ids.upper], 1, 'beta', 1]);
  });

  it('sorts by name, state, created and finished, each way, and the headings link to the next order', async () => {
    expect(order((await h.send('/')).body)).toEqual([ids.gamma, ids.upper, ids.percent, ids.under, ids.alpha]);
    expect(order((await h.send('/?sort=created&dir=asc')).body)).toEqual([ids.alpha, ids.under, ids.percent, ids.upper, ids.gamma]);
    expect(order((await h.send('/?sort=name')).body)).toEqual([ids.alpha, ids.percent, ids.under, ids.upper, ids.gamma]);
    expect(order((await h.send('/?sort=name&dir=desc')).body)).toEqual([ids.gamma, ids.upper, ids.under, ids.percent, ids.alpha]);
    // Live jobs first, then failed (newest first among equals), then cancelled.
    expect(order((await h.send('/?sort=state')).body)).toEqual([ids.upper, ids.alpha, ids.gamma, ids.under, ids.percent]);
    // Unfinished jobs have no finish time: last, either way.
    expect(order((await h.send('/?sort=finished')).body)).toEqual([ids.percent, ids.gamma, ids.under, ids.upper, ids.alpha]);
    expect(order((await h.send('/?sort=finished&dir=asc')).body)).toEqual([ids.under, ids.gamma, ids.percent, ids.upper, ids.alpha]);
    const byName = (await h.send('/?sort=name&q=beta')).body;
    expect(byName).toContain('<th data-sort="name" aria-sort="ascending">');
    expect(headingHref(byName, 'name')).toBe('/?q=beta&sort=name&dir=desc');
    expect(headingHref(byName, 'finished')).toBe('/?q=beta&sort=finished');
    expect(headingHref(byName, 'created')).toBe('/?q=beta');
    expect(byName).toContain('<option value="name" selected>');
    // Actions go back to the same view, and may: the redirect keeps it.
    expect(byName).toContain('name="back" value="/?q=beta&#38;sort=name"');
    const form = { accept: 'text/html', origin: h.origin, 'content-type': 'application/x-www-form-urlencoded' };
    const q = await h.send(`/api/jobs/${ids.upper}/priority`, { method: 'POST', headers: form, body: `back=${encodeURIComponent('/?q=b%C3%A9ta+1&sort=name')}` });
    expect([q.status, q.headers.location]).toEqual([303, '/?q=b%C3%A9ta+1&sort=name']);
    const json = await api('?sort=finished&dir=asc&limit=2');
    expect([json.jobs.map((j) => j.id), json.sort, json.dir]).toEqual([[ids.under, ids.gamma], 'finished', 'asc']);
  });

  it('shows created and finished times, blank while unfinished', async () => {
    const page = (await h.send('/?q=gamma')).body;
    expect(page).toContain(`<td class="when" data-label="Created"><time datetime="${new Date(T0 + 4 * 60_000).toISOString()}" data-local`);
    expect(page).toContain('>2026-12-01 09:04 UTC</time></td><td class="when" data-label="Finished"><time');
    expect((await h.send('/?q=alpha')).body).toContain('<td class="when blank" data-label="Finished"></td>');
  });

  it('refuses a bad sort, direction or search with a 400 naming the parameter', async () => {
    for (const [url, text] of [
      ['/api/jobs?sort=size', 'sort must be one of created, finished, name, state, not "size"'],
      ['/?sort=id%3B%20DROP%20TABLE%20jobs', 'sort must be one of'],
      ['/api/jobs?dir=up', 'dir must be asc or desc, not "up"'],
      [`/api/jobs?q=${'x'.repeat(101)}`, 'q (the file name search) must be at most 100 characters'],
      ['/api/jobs?q=a%00b', 'q (the file name search) must not hold control characters'],
    ] as const) {
      const r = await h.send(url, { headers: { accept: 'application/json' } });
      const said = url.startsWith('/api/') ? (JSON.parse(r.body) as { error: string }).error : r.body;
      expect([r.status, said], url).toEqual([400, expect.stringContaining(text)]);
    }
  });
});
