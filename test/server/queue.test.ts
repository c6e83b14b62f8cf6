/**
 * One slot, and the pipeline claiming the next jobs ahead of it (copying, probing and chunking them
 * while the slot tracks): the list, the job page, the JSON and `posepipe status` show exactly one job
 * running, the one whose chunk the slot started, its clock started then and not at its claim; the
 * others queued, preparing or ready, with their places in the queue. Seeded through the Db
 * transitions the pipeline makes, at set times (only Date is faked: the server runs for real).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDb } from '../../src/db/index.ts';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { makeWorkspace } from '../helpers/workspace.ts';
import { startHarness, type Harness } from './harness.ts';
import { tags } from './inert.ts';
import { chunkedJob, failAtTrack, queuedJob } from './seed.ts';

let h: Harness;
const T0 = Date.now();
beforeAll(async () => {
  h = await startHarness();
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterAll(async () => {
  vi.useRealTimers();
  await h?.stop();
});

/** Set the clock to `ms` after the test's start. */
const at = (ms: number) => vi.setSystemTime(T0 + ms);
const post = (path: string) => h.send(path, { method: 'POST', headers: { origin: h.origin } });

interface Shown { id: number; state: string; phase: string | null; queuePosition: number | null; startedMs: number | null; seconds: number | null }
const shown = (j: Shown) => ({ state: j.state, phase: j.phase, queuePosition: j.queuePosition, startedMs: j.startedMs, seconds: j.seconds });
async function apiJobs(query = ''): Promise<{ jobs: Shown[]; counts: Record<string, number>; total: number }> {
  return JSON.parse((await h.send(`/api/jobs${query}`)).body);
}
const ids = (jobs: Shown[]) => jobs.map((j) => j.id);
/** The text of a list row's state cell. */
const stateCell = (html: string, id: number) => {
  const row = html.slice(html.indexOf(`<tr data-job="${id}"`));
  return row.slice(row.indexOf('data-label="State">') + 19, row.indexOf('</td>', row.indexOf('data-label="State">'))).replace(/<[^>]+>/g, '');
};

describe('a queue with one slot', () => {
  it('shows only the job a slot tracks as running, clocked from its first chunk; the others queued, preparing or ready, in the order they will be served', async () => {
    at(0);
    const first = chunkedJob(h.db, { name: 'first.mp4', chunks: 2 }); // claimed at 0, prepared
    at(1000);
    const second = chunkedJob(h.db, { name: 'second.mp4', chunks: 2 }); // prepared ahead: waits for the slot
    at(2000);
    const third = queuedJob(h.db, 'third.mp4');
    h.db.claimJob(third);
    h.db.startStage(third, 'stage'); // being copied ahead
    const fourth = queuedJob(h.db, 'fourth.mp4'); // not claimed yet
    // Before any chunk starts, all four wait; the first has been claimed longest.
    expect((await apiJobs()).counts).toMatchObject({ running: 0, queued: 4 });
    at(5000);
    h.db.startChunk(first, 0, 'slot 1');
    at(8000);

    const api = await apiJobs();
    expect(Object.fromEntries(api.jobs.map((j) => [j.id, shown(j)]))).toEqual({
      [first]: { state: 'running', phase: null, queuePosition: null, startedMs: T0 + 5000, seconds: 3 },
      [second]: { state: 'queued', phase: 'ready', queuePosition: 1, startedMs: null, seconds: null },
      [third]: { state: 'queued', phase: 'preparing', queuePosition: 2, startedMs: null, seconds: null },
      [fourth]: { state: 'queued', phase: null, queuePosition: 3, startedMs: null, seconds: null },
    });
    expect(api.counts).toMatchObject({ running: 1, queued: 3 });
    // The filters agree with what is shown.
    expect(ids((await apiJobs('?state=running')).jobs)).toEqual([first]);
    expect(ids((await apiJobs('?state=queued')).jobs)).toEqual([fourth, third, second]);

    const list = (await h.send('/')).body;
    expect(tags(list).filter((t) => t.name === 'tr' && t.attrs.has('data-job')).map((t) => [Number(t.attrs.get('data-job')), t.attrs.get('data-state')])).toEqual([
      [fourth, 'queued'], [third, 'queued'], [second, 'queued'], [first, 'running'],
    ]);
    expect([first, second, third, fourth].map((id) => stateCell(list, id))).toEqual(['running', 'queued ready · #1 in queue', 'queued preparing · #2 in queue', 'queued #3 in queue']);
    expect(list).toContain('<title>posepipe (1 running, 3 queued)</title>');
    const page = (await h.send(`/jobs/${second}`)).body;
    expect(page).toContain(`<main data-job="${second}" data-state="queued">`);
    expect(page).toContain('ready: copied, probed and chunked, it waits for a free tracker slot · #1 in queue · ');
    expect(page).not.toContain('id="live"');
    expect(shown(JSON.parse((await h.send(`/api/jobs/${third}`)).body))).toEqual({ state: 'queued', phase: 'preparing', queuePosition: 2, startedMs: null, seconds: null });

    // The CLI reads the same views (the running job's clock goes on with the real time there).
    const st = await runCli(['status'], cliEnv(h.ws));
    expect(st.code, st.stderr).toBe(0);
    const line = (id: number) => st.stdout.split('\n').find((l) => l.startsWith(`${id} `))?.replace(/\s+/g, ' ');
    // JOB STATE STAGE FRAMES
    expect([line(first), line(second), line(third), line(fourth)].map((l) => /^\d+ \S+( \(.*?\))? (waits for a slot|\S+) \S+/.exec(l ?? '')?.[0])).toEqual([
      `${first} running track 0/50`, `${second} queued (ready, #1) waits for a slot 0/50`, `${third} queued (preparing, #2) stage -`, `${fourth} queued (#3) stage -`,
    ]);

    // Priority: of the claimed jobs the higher goes first; one not claimed yet must be claimed and prepared first, whatever its priority.
    h.db.setPriority(third, 5);
    h.db.setPriority(fourth, 9);
    expect(Object.fromEntries((await apiJobs('?state=queued')).jobs.map((j) => [j.id, j.queuePosition]))).toEqual({ [third]: 1, [second]: 2, [fourth]: 3 });

    // Refusals name the state shown, not the database's: a job taken ahead of a slot is queued there too.
    const resume = await post(`/api/jobs/${second}/resume`);
    expect([resume.status, JSON.parse(resume.body).error]).toEqual([409, expect.stringContaining('(it is queued)')]);

    // A claimed job shown queued can be cancelled: the posepipe running it stops it.
    const cancel = await post(`/api/jobs/${second}/cancel`);
    expect([cancel.status, JSON.parse(cancel.body)]).toEqual([202, { id: second, cancel: 'requested' }]);
    expect(stateCell((await h.send('/')).body, second)).toBe('queued ready · #2 in queue cancelling…');

    // A job that tracked, failed and was resumed waits again, its clock stopped, until a slot starts its next chunk.
    at(9000);
    h.db.failChunk(first, 0, { kind: 'crash', text: 'worker exited with code 1' }, false);
    failAtTrack(h.db, first, { kind: 'crash', text: 'chunk 0 failed' });
    expect(shown(JSON.parse((await h.send(`/api/jobs/${first}`)).body))).toMatchObject({ state: 'failed', startedMs: T0 + 5000, seconds: 4 });
    h.db.resumeJob(first);
    at(10_000);
    h.db.claimJob(first);
    expect(shown(JSON.parse((await h.send(`/api/jobs/${first}`)).body))).toEqual({ state: 'queued', phase: 'ready', queuePosition: 2, startedMs: null, seconds: null });
    at(12_000);
    h.db.startChunk(first, 0, 'slot 1');
    at(12_500);
    expect(shown(JSON.parse((await h.send(`/api/jobs/${first}`)).body))).toEqual({ state: 'running', phase: null, queuePosition: null, startedMs: T0 + 12_000, seconds: 0.5 });
  });

  it('gives a copy a place only once its original is done, as claimNextJob passes it over until then', () => {
    const ws = makeWorkspace('queue-copies');
    const db = openDb(ws.home);
    try {
      const make = (name: string, sha: string) => db.createJob({ sourceName: name, sourcePath: `/inbox/${name}`, sha256: sha.repeat(64), bytes: 1 }).job;
      const original = make('a.mp4', 'a');
      const copy = make('a again.mp4', 'a');
      const other = make('b.mp4', 'b');
      expect(copy.copy_of).toBe(original.id);
      expect(Object.fromEntries(db.queuePositions())).toEqual({ [original.id]: 1, [other.id]: 2 });
      db.claimJob(original.id);
      db.finishJob(original.id);
      expect(Object.fromEntries(db.queuePositions())).toEqual({ [copy.id]: 1, [other.id]: 2 });
      expect(db.claimNextJob()?.id).toBe(copy.id);
    } finally {
      db.close();
      ws.cleanup();
    }
  });
});
