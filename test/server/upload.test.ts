/**
 * Upload into the inbox over the real HTTP server: names a user's browser may send, names already
 * taken, and the setting that turns uploads off. (The page's drop and its progress bar are driven in
 * Chromium by test/e2e/status-page.test.ts.)
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sendPieces } from '../helpers/http-send.ts';
import { tmpfs, tmpfsUnavailable, unmount } from '../helpers/tmpfs.ts';
import { waitFor } from '../helpers/workspace.ts';
import { startHarness, type Harness } from './harness.ts';

let h: Harness | undefined;
afterEach(() => h?.stop());

const upload = (hh: Harness, name: string, body: string) =>
  hh.send(`/api/upload?name=${encodeURIComponent(name)}`, { method: 'POST', headers: { origin: hh.origin, 'content-type': 'application/octet-stream' }, body });

describe('POST /api/upload', () => {
  it('writes the body under its name, never over another file, and refuses names the inbox would not take', async () => {
    h = await startHarness();
    writeFileSync(join(h.config.inbox, 'clip.mp4'), 'already here');
    const first = await upload(h, 'clip.mp4', 'video bytes');
    expect(first.status).toBe(201);
    expect(JSON.parse(first.body)).toEqual({ name: 'clip (2).mp4', bytes: 11 });
    expect(readFileSync(join(h.config.inbox, 'clip.mp4'), 'utf8')).toBe('already here');
    expect(readFileSync(join(h.config.inbox, 'clip (2).mp4'), 'utf8')).toBe('video bytes');
    // A path in the name is not followed; hostile characters stay a plain name.
    const pathy = await upload(h, '../../etc/$(touch x) "q".mov', 'v');
    expect(pathy.status).toBe(201);
    expect(JSON.parse(pathy.body).name).toBe('$(touch x) "q".mov');
    for (const [name, status, says] of [
      ['notes.txt', 415, 'video file extension'],
      ['.hidden.mp4', 400, 'hidden or temporary'],
      ['', 400, 'needs a file name'],
      ['..', 400, 'needs a file name'],
    ] as const) {
      const r = await upload(h, name, 'x');
      expect([name, r.status]).toEqual([name, status]);
      expect(r.body).toContain(says);
    }
    // Nothing else was written, and no temporary file is left behind.
    expect(readdirSync(h.config.inbox).sort()).toEqual(['$(touch x) "q".mov', 'clip (2).mp4', 'clip.mp4']);
  });

  it('is off with uploadMaxMb 0', async () => {
    h = await startHarness({ flags: { uploadMaxMb: '0' } });
    const r = await upload(h, 'clip.mp4', 'x');
    expect(r.status).toBe(403);
    expect(r.body).toContain('Uploads are off');
    expect(readdirSync(h.config.inbox)).toEqual([]);
  });
});

describe('POST /api/upload onto a small disk', () => {
  const noTmpfs = tmpfsUnavailable();
  it.skipIf(noTmpfs)('refuses (507) a chunked upload once it would eat into minFreeMb, and leaves nothing', async () => {
    h = await startHarness({ flags: { minFreeMb: '10' } });
    const inbox = h.config.inbox;
    tmpfs(inbox, '40m');
    try {
      // Chunked: nothing announced, so the space is looked at as the file grows (every 16 MiB).
      const piece = Buffer.alloc(1024 * 1024, 0x61);
      const answer = await sendPieces(h.server.port, '/api/upload?name=grows.mp4', { headers: { 'content-type': 'application/octet-stream' }, pieces: Array.from({ length: 39 }, () => piece) });
      expect(answer.status).toBe(507);
      expect(JSON.parse(answer.body).error).toMatch(/^Not enough disk space in .*: "grows\.mp4" would fill it, .* is free and 10 MiB must stay free \(minFreeMb\); nothing was kept$/);
      await waitFor('the refused upload\'s temporary file to go', () => (readdirSync(inbox).length === 0 ? true : undefined), 5000);
    } finally {
      unmount(inbox); // before the workspace is deleted
    }
  });
});
