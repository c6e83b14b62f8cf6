import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { browserPerTest, screenshot } from '../helpers/browser.ts';
import { cliEnv } from '../helpers/cli.ts';
import { fixture } from '../helpers/fixtures.ts';
import { appsPerTest } from '../helpers/remote.ts';
import { waitFor, workspacesPerTest } from '../helpers/workspace.ts';

// The login page in a real headless Chromium against a real `posepipe start --auth on`.
// Screenshots are left in test-output/screenshots for a person to look at.

const workspace = workspacesPerTest();
const spawnApp = appsPerTest();
const browser = browserPerTest();

describe('the login page in headless Chromium', () => {
  it('login page: a wrong token, the right one, the jobs, logout, a viewer without action buttons', async () => {
    const ws = workspace('login-page');
    const app = spawnApp(['start', '--auth', 'on'], cliEnv(ws));
    const { url, operator, viewer } = await waitFor('posepipe start to print its login addresses', () => {
      const out = app.output();
      const url = /posepipe: status page at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
      const operator = /posepipe: log in at (http:\/\/\S+\/login\?token=(\S+))/.exec(out);
      const viewer = /posepipe: read-only: (http:\/\/\S+\/login\?token=\S+)/.exec(out)?.[1];
      return url && operator && viewer ? { url, operator: { address: operator[1]!, token: operator[2]! }, viewer } : undefined;
    }, 30_000);
    // One queued job to show: intake paused first, so it stays as it is for the screenshots.
    const paused = await fetch(`${url}api/intake/pause`, { method: 'POST', headers: { authorization: `Bearer ${operator.token}` } });
    expect(paused.status).toBe(200);
    copyFileSync(fixture('with-audio.mp4'), join(ws.inbox, 'clip.mp4'));
    await waitFor('the job to be queued', async () => ((await fetch(`${url}api/jobs/1`, { headers: { authorization: `Bearer ${operator.token}` } })).status === 200 ? true : undefined), 30_000, 100);

    const page = await (await browser()).newPage();
    // A page asked for without a session leads to the login form, remembering where it was going.
    await page.goto(`${url}jobs/1`);
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe('/login?next=%2Fjobs%2F1');
    await page.locator('form#login-form input#token').waitFor();
    expect(await page.locator('main').textContent()).not.toContain('clip.mp4');
    await screenshot(page, 'login page');

    // A wrong token: the form again, with why.
    await page.fill('#token', 'not-the-token-0123456789');
    const wrong = page.waitForResponse((r) => r.request().method() === 'POST');
    await page.click('form#login-form button[type=submit]');
    expect((await wrong).status()).toBe(401);
    await page.locator('#login-error').waitFor();
    expect(await page.locator('#login-error').textContent()).toContain('That token is not right');
    await screenshot(page, 'wrong token');

    // The right one: the page it was going to, with a session cookie the page's scripts cannot read.
    await page.fill('#token', operator.token);
    await Promise.all([page.waitForURL(`${url}jobs/1`), page.click('form#login-form button[type=submit]')]);
    await page.locator('main[data-job="1"]').waitFor();
    const cookies = await page.context().cookies(url);
    expect(cookies.map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite, secure: c.secure, path: c.path }))).toEqual([
      { name: `posepipe_session_${new URL(url).port}`, httpOnly: true, sameSite: 'Strict', secure: false, path: '/' },
    ]);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    await page.goto(url);
    await page.locator('tr[data-job="1"]').waitFor();
    expect(await page.locator('header .who').textContent()).toBe('operator');
    expect(await page.locator('#intake button[data-action=unpause]').isVisible()).toBe(true);
    await screenshot(page, 'jobs page');

    // Logout: back to the login page, and the session is gone.
    await Promise.all([page.waitForURL(`${url}login`), page.click('header form.logout button')]);
    await page.locator('form#login-form').waitFor();
    await screenshot(page, 'logged out');
    await page.goto(url);
    expect(new URL(page.url()).pathname).toBe('/login');

    // The read-only address printed at start: the jobs, without the action buttons or the upload box.
    await page.goto(viewer);
    expect(page.url()).toBe(url);
    await page.locator('tr[data-job="1"]').waitFor();
    expect(await page.locator('header .who').textContent()).toBe('read-only');
    expect(await page.locator('#intake button[data-action=unpause]').isVisible()).toBe(false);
    expect(await page.locator('#upload').count()).toBe(0);
    expect(await page.locator('tr[data-job="1"] input[data-select]').isVisible()).toBe(false);
    expect(await page.locator('#bulk-bar').isVisible()).toBe(false);
    await screenshot(page, 'viewer');
    // Her browser cannot act even by sending the form itself.
    const forced = await page.evaluate(() => fetch('/api/intake/unpause', { method: 'POST' }).then((r) => r.status));
    expect(forced).toBe(403);
  }, 120_000);
});
