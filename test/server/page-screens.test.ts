/**
 * The pages in headless Chromium at a desktop's and a phone's width, light and dark, against a
 * real server and database (no pipeline: the jobs are seeded through the Db transitions the
 * pipeline uses). Screenshots are left in test-output/screenshots for a person to look at.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.ts';
import { fixture } from '../helpers/fixtures.ts';
import { mergedResult } from '../pictures/merged-fixture.ts';
import { startHarness, type Harness } from './harness.ts';
import { settingsRecord, workSettings } from '../../src/work-settings.ts';
import { chunkDone, chunkedJob, chunkFailed, doneJob, failAtTrack, failedJob, playerJob, queuedJob } from './seed.ts';

const LONG_NAME = 'holiday-at-the-beach_day2_camera-B (final cut) take_07.mp4';
const SCREENS = [
  { width: 1280, height: 900, scheme: 'light' },
  { width: 1280, height: 900, scheme: 'dark' },
  { width: 390, height: 844, scheme: 'light' },
  { width: 390, height: 844, scheme: 'dark' },
] as const;

let h: Harness;
let browser: TestBrowser;
let page: Page;
const problems: string[] = [];
beforeAll(async () => {
  // Uploads of at most 1 MiB, so that a bigger file is refused in the browser.
  h = await startHarness({ flags: { uploadMaxMb: '1' } });
  mkdirSync(h.ws.inbox, { recursive: true });
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('pageerror', (e) => problems.push(String(e)));
  // Refusals (a 400 upload) and the live updates turned off in one test are logged as failed loads.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|ERR_FAILED/.test(m.text())) problems.push(m.text());
  });
});
afterAll(async () => {
  await browser?.close();
  await h?.stop();
  expect(problems, 'errors in the page').toEqual([]);
});

/** The page's width as laid out and as shown: scroll is larger only when something pushes the page sideways. */
const widths = () => page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));

/** Show the current page on every screen, check each, and screenshot it as `label`. */
async function everyScreen(label: string, check: (screen: (typeof SCREENS)[number]) => Promise<void> = async () => {}): Promise<void> {
  for (const screen of SCREENS) {
    await page.setViewportSize({ width: screen.width, height: screen.height });
    await page.emulateMedia({ colorScheme: screen.scheme });
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background, `${label}: the ${screen.scheme} theme`).toBe(screen.scheme === 'dark' ? 'rgb(15, 19, 26)' : 'rgb(246, 247, 249)');
    const w = await widths();
    expect(w.scroll, `${label} at ${screen.width} px: nothing scrolls sideways`).toBeLessThanOrEqual(w.client);
    await check(screen);
    await screenshot(page, `${label} ${screen.width} ${screen.scheme}`);
  }
}

/** How many lines an element's text takes (its boxes' distinct tops). */
const lines = (selector: string) => page.locator(selector).evaluate((e) => new Set([...e.getClientRects()].map((r) => Math.round(r.top))).size);

describe('pages on every screen', () => {
  it('the job list with a queue (one running, the next ready, one preparing, places in the queue): names wrap between words, no sideways scroll at 390 px', async () => {
    const running = chunkedJob(h.db, { name: 'street.mp4', chunks: 4 });
    chunkDone(h.db, running, 0);
    chunkDone(h.db, running, 1);
    h.db.startChunk(running, 2);
    h.db.registerWorkers('this machine', ['slot 1']);
    h.db.workerHealth('slot 1', 'ready', { device: 'cpu' });
    h.db.workerChunk('slot 1', { jobId: running, idx: 2, framesPerSecond: 19.5 });
    failedJob(h.db, 'broken.mp4', { kind: 'input', text: 'Cannot probe "broken.mp4": no video stream found' });
    doneJob(h.db, h.config, { name: 'done.mp4', chunks: 2 });
    // Claimed ahead of the slot: one chunked and waiting for it, one being probed.
    const ready = chunkedJob(h.db, { name: 'interview.mp4', chunks: 3 });
    const preparing = queuedJob(h.db, 'drone flight.mov');
    h.db.claimJob(preparing);
    h.db.startStage(preparing, 'stage');
    h.db.finishStage(preparing, 'stage', { file: 'source.mov', bytes: 123_456, sha256: 'd'.repeat(64) });
    h.db.startStage(preparing, 'probe');
    const notes = queuedJob(h.db, 'notes.mp4');
    const long = queuedJob(h.db, LONG_NAME);
    await page.goto(h.server.url);
    await page.locator(`tr[data-job="${long}"]`).waitFor();
    // A queued job that has not started says so, not "stage".
    expect(await page.locator(`tr[data-job="${notes}"] td[data-label="Stage"]`).textContent()).toBe('not started');
    // Only the job the slot tracks runs; the others wait, in the order they will be served.
    expect(await page.locator('tr[data-job][data-state="running"]').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-job'))))).toEqual([running]);
    const stateOf = (id: number) => page.locator(`tr[data-job="${id}"] td[data-label="State"]`).innerText();
    expect(await Promise.all([ready, preparing, notes, long].map(stateOf))).toEqual(['queued ready · #1 in queue', 'queued preparing · #2 in queue', 'queued #3 in queue', 'queued #4 in queue']);
    expect(await page.locator(`tr[data-job="${ready}"] td[data-label="Stage"]`).textContent()).toBe('waits for a slot');
    await everyScreen('jobs list', async (screen) => {
      // With its created and finished columns the table still fits a wide screen, no scrolling in its box.
      const box = await page.locator('table#jobs').evaluate((t) => ({ scroll: t.parentElement!.scrollWidth, client: t.parentElement!.clientWidth }));
      expect(box.scroll, `the jobs table at ${screen.width} px`).toBeLessThanOrEqual(box.client);
      expect(await lines(`tr[data-job="${notes}"] .fname`), `notes.mp4 on one line at ${screen.width} px`).toBe(1);
      const fit = await page.locator(`tr[data-job="${long}"] td.name`).evaluate((td) => td.scrollWidth <= td.clientWidth);
      expect(fit, `the long name fits its cell at ${screen.width} px`).toBe(true);
      // Where it wraps, it wraps between its parts: each line starts after a break the name allows.
      const breaks = await page.locator(`tr[data-job="${long}"] .fname`).evaluate((span) => {
        const text = span.textContent ?? '';
        const range = document.createRange();
        const starts: number[] = [];
        let top: number | undefined;
        let pos = 0;
        for (const node of span.childNodes) {
          const length = node.nodeType === Node.TEXT_NODE ? (node.textContent?.length ?? 0) : 0;
          for (let i = 0; i < length; i++) {
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const y = range.getBoundingClientRect().top;
            if (top !== undefined && y > top + 2) starts.push(pos + i);
            top = y;
          }
          pos += length;
        }
        return starts.map((at) => `${text.slice(Math.max(0, at - 3), at)}|${text.slice(at, at + 3)}`);
      });
      for (const at of breaks) expect(at, `a break in "${LONG_NAME}"`).toMatch(/[ _\-)]\||\|[.(]/);
    });
  });

  it('a job page with a failed chunk and its stderr', async () => {
    const id = chunkedJob(h.db, { name: LONG_NAME, chunks: 3 });
    chunkDone(h.db, id, 0);
    chunkFailed(h.db, id, 1, { kind: 'crash', text: 'worker exited with code 1', exitCode: 1, stderrTail: 'Traceback (most recent call last):\n  File "worker.py", line 12, in track\nRuntimeError: CUDA error: an illegal memory access was encountered; a very long line that goes on and on past the width of a phone' });
    failAtTrack(h.db, id, { kind: 'crash', text: 'chunk 1 failed after 3 attempts' });
    await page.goto(`${h.server.url}jobs/${id}?chunkState=failed#chunks`);
    await page.locator('#chunk-1-stderr summary').click();
    await everyScreen('job page failed chunk');
  });

  it('the job page of a copy (answered from its original) and of a re-run (its settings, where it came from)', async () => {
    const original = doneJob(h.db, h.config, { name: 'walk.mp4', chunks: 2 });
    const row = h.db.getJob(original)!;
    // The same bytes dropped again under another name, with the same settings: a copy.
    const copy = h.db.createJob({ sourceName: LONG_NAME, sourcePath: '/inbox/walk again.mp4', sha256: row.source_sha256, bytes: row.source_bytes }).job;
    expect(copy.copy_of).toBe(original);
    await page.goto(`${h.server.url}jobs/${copy.id}`);
    await everyScreen('job page of a copy', async () => {
      expect(await page.locator(`main p[data-copy-of="${original}"] a[href="/jobs/${original}"]`).isVisible()).toBe(true);
    });
    // Tracked again with today's settings: a new original that says where it came from.
    const again = h.db.createJob({ sourceName: 'walk.mp4', sourcePath: row.source_path, sha256: row.source_sha256, bytes: row.source_bytes, settings: settingsRecord(workSettings(h.config)), rerunOf: original }).job;
    expect([again.copy_of, again.rerun_of]).toEqual([null, original]);
    await page.goto(`${h.server.url}jobs/${again.id}`);
    await everyScreen('job page of a re-run', async () => {
      expect(await page.locator('#settings [data-backend]').getAttribute('data-backend')).toBe(h.config.tracker);
      expect(await page.locator(`#settings [data-rerun-of="${original}"] a[href="/jobs/${original}"]`).isVisible()).toBe(true);
    });
  });

  it('asks before cancelling, and a cancel that no longer applies says so on its page', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.emulateMedia({ colorScheme: 'light' });
    const id = queuedJob(h.db, 'to-cancel.mp4');
    await page.goto(h.server.url);
    const row = page.locator(`tr[data-job="${id}"]`);
    await row.locator('details.confirm summary').click();
    await row.locator('details.confirm .ask').waitFor();
    expect(await row.locator('.ask p').textContent()).toBe(`Cancel job ${id} (to-cancel.mp4)? It leaves the queue; Resume puts it back.`);
    await screenshot(page, 'cancel asks first');
    await row.locator('button[data-keep]').click();
    expect(await row.locator('details.confirm').evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
    expect(h.db.getJob(id)!.state).toBe('queued');
    await row.locator('details.confirm summary').click();
    await Promise.all([page.waitForEvent('load'), row.locator('button[data-action="cancel"]').click()]);
    expect(h.db.getJob(id)!.state).toBe('cancelled');
    await page.locator(`tr[data-job="${id}"][data-state="cancelled"]`).waitFor();
    expect(await page.locator('#notice').count()).toBe(0);

    // Another job, cancelled elsewhere while its page is open without live updates: the click
    // lands back on the same page, which explains.
    const other = queuedJob(h.db, 'cancelled-elsewhere.mp4');
    await page.route('**/api/events', (r) => r.abort());
    try {
      await page.goto(`${h.server.url}jobs/${other}`);
      h.db.cancelJob(other);
      await page.locator('#actions details.confirm summary').click();
      await Promise.all([page.waitForEvent('load'), page.locator('#actions button[data-action="cancel"]').click()]);
    } finally {
      await page.unroute('**/api/events');
    }
    expect(new URL(page.url()).pathname).toBe(`/jobs/${other}`);
    expect(await page.locator('#notice .text').textContent()).toBe(`Cancel did not apply: job ${other} is not queued or running (it is cancelled). The page shows the job as it is now.`);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: 'dark' });
    const w = await widths();
    expect(w.scroll).toBeLessThanOrEqual(w.client);
    await screenshot(page, 'stale cancel explained 390 dark');
    await page.locator('#notice [data-dismiss]').click();
    expect(await page.locator('#notice').count()).toBe(0);
  });

  it('uploads several files with a line each: done, renamed, refused and why, never a full bar on a refusal', async () => {
    writeFileSync(join(h.ws.inbox, 'clip.mp4'), 'already here');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(h.server.url);
    const files = [
      { name: 'clip.mp4', bytes: 4000 },
      { name: 'second take.mov', bytes: 6000 },
      { name: 'notes.txt', bytes: 10 },
      { name: 'too-big.mp4', bytes: 1024 * 1024 + 1 },
      { name: '.hidden.mp4', bytes: 10 },
    ];
    const transfer = await page.evaluateHandle((list) => {
      const dt = new DataTransfer();
      for (const f of list) dt.items.add(new File([new Uint8Array(f.bytes).fill(7)], f.name, { type: 'video/mp4' }));
      return dt;
    }, files);
    await page.dispatchEvent('body', 'dragover', { dataTransfer: transfer });
    await page.dispatchEvent('body', 'drop', { dataTransfer: transfer });
    await page.waitForFunction(() => {
      const items = [...document.querySelectorAll('#upload-list li')];
      return items.length === 5 && items.every((li) => ['done', 'renamed', 'refused'].includes(li.getAttribute('data-result') ?? ''));
    });
    const shown = await page.locator('#upload-list li').evaluateAll((items) =>
      items.map((li) => ({ file: li.getAttribute('data-file'), result: li.getAttribute('data-result'), said: li.querySelector('.said')?.textContent, bar: (li.querySelector('progress') as HTMLProgressElement | null)?.value ?? null })),
    );
    expect(shown).toEqual([
      { file: 'clip.mp4', result: 'renamed', said: 'uploaded as "clip (2).mp4": the inbox already has a file named "clip.mp4"', bar: 1 },
      { file: 'second take.mov', result: 'done', said: 'uploaded: it becomes a job in a moment', bar: 1 },
      { file: 'notes.txt', result: 'refused', said: expect.stringMatching(/^refused: not a video file name \(\.txt is not one of \.mp4 \.mov/), bar: null },
      { file: 'too-big.mp4', result: 'refused', said: 'refused: over 1 MiB, the most an upload may be (uploadMaxMb)', bar: null },
      { file: '.hidden.mp4', result: 'refused', said: 'refused: ".hidden.mp4" looks hidden or temporary: the inbox would ignore it; rename it first', bar: null },
    ]);
    expect(await page.locator('#upload-status').textContent()).toBe('2 uploaded, 3 refused');
    expect(readdirSync(h.ws.inbox).filter((n) => !n.startsWith('.')).sort()).toEqual(['clip (2).mp4', 'clip.mp4', 'second take.mov']);
    expect(readFileSync(join(h.ws.inbox, 'second take.mov')).equals(Buffer.alloc(6000, 7))).toBe(true);
    await everyScreen('upload of two files and refused ones');
  });

  it("the player's keys: Space plays and pauses, arrows step a frame, Shift+arrows a second, not while typing", async () => {
    // No preview video (size 0): the player steps and plays its frames on a blank picture, and no ffmpeg runs.
    const id = await playerJob(h.db, h.config, { name: 'small.mp4', source: fixture('small.mp4'), merged: mergedResult(150), size: 0, dims: [320, 240] });
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${h.server.url}jobs/${id}`);
    const player = page.locator('section#player');
    await page.locator('section#player[data-player-state="ready"][data-frame="0"]').waitFor();
    const at = (frame: number) => page.locator(`section#player[data-frame="${frame}"]`).waitFor({ timeout: 10_000 });
    await page.keyboard.press('ArrowRight');
    await at(1);
    await page.keyboard.press('Shift+ArrowRight');
    await at(26); // 25 fps: one second
    await page.keyboard.press('ArrowLeft');
    await at(25);
    await page.keyboard.press('Shift+ArrowLeft');
    await at(0);

    // Typed into a text field, the same keys are the field's: none is taken by the player.
    type Keys = Window & { keys?: string[] };
    await page.evaluate(() => {
      const input = document.createElement('input');
      input.id = 'typing';
      document.querySelector('main')!.prepend(input);
      window.addEventListener('keydown', (e) => ((window as Keys).keys ??= []).push(`${e.key}:${e.defaultPrevented}`));
    });
    await page.locator('#typing').click();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Shift+ArrowLeft');
    await page.keyboard.press('Space');
    expect(await page.evaluate(() => (window as Keys).keys)).toEqual(['ArrowRight:false', 'Shift:false', 'ArrowLeft:false', ' :false']);
    expect([await player.getAttribute('data-frame'), await player.getAttribute('data-playing')]).toEqual(['0', null]);
    expect(await page.locator('#typing').inputValue()).toBe(' ');

    // Outside it, they are the player's.
    await page.locator('#typing').blur();
    await page.keyboard.press('Space');
    await page.locator('section#player[data-playing="1"]').waitFor({ timeout: 10_000 });
    await page.keyboard.press('Space');
    await page.locator('section#player[data-playing=""]').waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => (window as Keys).keys!.slice(4))).toEqual([' :true', ' :true']);
  });
});
