import { afterEach, describe, expect, it } from 'vitest';
import { browserPerTest } from '../helpers/browser.ts';
import { waitFor } from '../helpers/workspace.ts';
import { startHarness, type Harness } from './harness.ts';
import { chunkDone, chunkedJob, chunkFailed, queuedJob } from './seed.ts';

// The page script in headless Chromium, under the page's real CSP, against a real server.
const browser = browserPerTest();
let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

type Marked = Window & { __sameDocument?: number };

describe('page script', () => {
  it('swaps <main> on a change, keeping open details and the scroll position, without reloading', async () => {
    h = await startHarness({ pollMs: 20 });
    const id = chunkedJob(h.db, { chunks: 150 });
    chunkFailed(h.db, id, 0, { kind: 'crash', text: 'worker exited', exitCode: 1, stderrTail: 'Traceback\nRuntimeError: boom' });
    const page = await (await browser()).newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    await page.goto(`${h.server.url}jobs/${id}`);
    await page.evaluate(() => {
      (window as Marked).__sameDocument = 1;
      document.querySelector('main')!.setAttribute('data-old', '1');
    });
    await page.click('#chunk-0-stderr summary');
    await page.evaluate(() => window.scrollTo(0, 1200));
    const y = await page.evaluate(() => window.scrollY);
    expect(y).toBeGreaterThan(0);

    chunkDone(h.db, id, 1);
    await page.waitForFunction(() => !document.querySelector('main[data-old]') && document.querySelector('#chunk-grid [data-chunk="1"]')?.getAttribute('data-state') === 'done', undefined, { timeout: 15_000 });
    expect(await page.evaluate(() => (window as Marked).__sameDocument)).toBe(1);
    expect(await page.evaluate(() => (document.getElementById('chunk-0-stderr') as HTMLDetailsElement).open)).toBe(true);
    expect(await page.evaluate(() => window.scrollY)).toBe(y);
    expect(problems).toEqual([]);
  });

  it('fetches at most about twice a second however often the database changes, and misses no change, keeping the search, the sort and what is being typed', async () => {
    h = await startHarness({ pollMs: 10 });
    const harness = h;
    queuedJob(harness.db, 'other.mp4'); // not found by the search: never shown
    const page = await (await browser()).newPage();
    await page.goto(`${harness.server.url}?q=burst&sort=name`);
    await page.locator('table#jobs').waitFor();
    const field = page.locator('#list-search input[name=q]');
    await field.fill('burst-3 being typed');
    // Forty new jobs, one every 25 ms: far more changes than fetches.
    let made = 0;
    const burst = setInterval(() => {
      if (made < 40) {
        queuedJob(harness.db, `burst-${made++}.mp4`);
      } else clearInterval(burst);
    }, 25);
    await waitFor('the list to show all 40 jobs', async () => ((await page.locator('tr[data-job]').count()) === 40 ? true : undefined));
    clearInterval(burst);
    // The live updates kept the URL's search and sort, and the field being typed in, focused.
    const names = await page.locator('tr[data-job] td.name').allTextContents();
    expect(names).toEqual(Array.from({ length: 40 }, (_, i) => `burst-${i}.mp4`).sort());
    expect(await field.inputValue()).toBe('burst-3 being typed');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('q');
    // Times are the reader's own, not the server's UTC text.
    expect(await page.locator('tr[data-job] time').first().textContent()).not.toContain('UTC');
    // When the page itself started each fetch of its own address (the fragment fetches), read from
    // its resource timings: the browser's own clock, not when the test process heard of them.
    const fetches = await page.evaluate(() => performance.getEntriesByType('resource').filter((e) => (e as PerformanceResourceTiming).initiatorType === 'fetch' && e.name === location.href).map((e) => e.startTime));
    expect(fetches.length).toBeGreaterThanOrEqual(2);
    const gaps = fetches.slice(1).map((t, i) => Math.round(t - fetches[i]!));
    // The script waits 500 ms from one fetch's call to the next's; the browser records each a few
    // ms after its call (494 ms was seen), so allow that much, far from a fetch per change (25 ms).
    for (const gap of gaps) expect(gap, `fetch gaps ${gaps.join(', ')}`).toBeGreaterThanOrEqual(450);
    // A sort select submits its form at once.
    await page.selectOption('#list-search select[name=dir]', 'desc');
    await page.waitForURL(/dir=desc/);
    expect(new URL(page.url()).searchParams.get('q')).toBe('burst-3 being typed');
  });
});
