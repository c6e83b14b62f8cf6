import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterEach, expect } from 'vitest';

/** Debian's Chromium: `.ci/run` installs it (`npx playwright install` cannot download a browser here). */
export const CHROMIUM = '/usr/bin/chromium';

/** Where screenshots are left for a person to look at after the run (test-output/ is gitignored). */
export const SCREENSHOT_DIR = resolve('test-output/screenshots');

/**
 * Flags for headless Chromium on this machine: the background-networking flags keep it from
 * calling out through a closed network (which it otherwise retries, many connections at a time).
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A running headless Chromium with its own fresh profile folder. */
export interface TestBrowser {
  context: BrowserContext;
  /** A new tab. */
  newPage(): Promise<Page>;
  /** Close the browser and delete its profile folder. */
  close(): Promise<void>;
}

/** Launch Debian's Chromium headless through playwright-core, with a fresh user-data dir; fails loudly when it is not installed. */
export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the browser tests need Debian's chromium package (apt-get install chromium; .ci/run installs it)`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'posepipe-chromium-'));
  let context: BrowserContext;
  try {
    // Playwright refuses a --user-data-dir flag: a persistent context is how a profile folder of our own is given.
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 }, timeout: 60_000 });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  // A persistent context opens with one blank tab: hand that one out first rather than leave it lying about.
  let blank: Page | undefined = context.pages()[0];
  return {
    context,
    async newPage() {
      const page = blank ?? (await context.newPage());
      blank = undefined;
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A file-name-safe form of a name: `Resumes a job (issue 4)` → `resumes-a-job-issue-4`. */
function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100).replace(/-+$/, '') || 'test';
}

/** Save a full-page screenshot as test-output/screenshots/<test-name>[--<label>].png; returns its path. */
export async function screenshot(page: Page, label = ''): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  // The test's own name, without its describe blocks (`file > describe > test`).
  const name = slug((expect.getState().currentTestName ?? 'test').split(' > ').at(-1)!);
  const file = join(SCREENSHOT_DIR, `${name}${label ? `--${slug(label)}` : ''}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * For a test file: one browser per test, launched on first use. After each test every open page of
 * a failed test is saved as `<test-name>--failure-N.png`, then the browser is closed either way.
 */
export function browserPerTest(): () => Promise<TestBrowser> {
  let current: TestBrowser | undefined;
  afterEach(async (ctx) => {
    const browser = current;
    current = undefined;
    if (!browser) return;
    try {
      if (ctx.task.result?.state === 'fail') {
        const pages = browser.context.pages();
        for (const [i, page] of pages.entries()) {
          const file = await screenshot(page, `failure-${i + 1}`).catch(() => undefined);
          if (file) console.error(`screenshot of failed test: ${file}`);
        }
      }
    } finally {
      await browser.close();
    }
  });
  return async () => (current ??= await launchBrowser());
}
