/**
 * The numbers the list, the job page and the JSON show while work goes on and after it was
 * interrupted: tracker time that grows while a chunk is tracked, stage times summed over every
 * attempt (a resume, a stop, a crash), and a chunk's error only while its latest attempt failed.
 * The clock is faked (Date only), so the seconds are exact.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../src/db/index.ts';
import { startHarness, type Harness } from './harness.ts';
import { tags } from './inert.ts';
import { chunkDone, chunkedJob, failAtTrack } from './seed.ts';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const at = (ms: number) => vi.setSystemTime(T0 + ms);

// One page for the file: each test makes its own jobs, and starts its clock at T0 again.
let h: Harness;
beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  at(0);
  h = await startHarness();
});
beforeEach(() => at(0));
afterAll(async () => {
  vi.useRealTimers();
  await h.stop();
});

interface JobJson {
  id: number;
  state: string;
  trackerSeconds: number;
  seconds: number | null;
  stages: { name: string; state: string; attempts: number; seconds: number | null; startedMs: number | null; finishedMs: number | null }[];
  chunkList: { index: number; state: string; trackerSeconds: number | null; error: { kind: string } | null; earlierError: { kind: string } | null }[];
}
const jobJson = async (id: number) => JSON.parse((await h.send(`/api/jobs/${id}`)).body) as JobJson;
const listed = async (id: number) => (JSON.parse((await h.send('/api/jobs')).body) as { jobs: Omit<JobJson, 'stages' | 'chunkList'>[] }).jobs.find((j) => j.id === id)!;
const stage = (j: JobJson, name: string) => j.stages.find((s) => s.name === name)!;
const page = async (id: number) => (await h.send(`/jobs/${id}`)).body;
/** The job page's line of totals: "… in all · tracker … · created …". */
const totalsLine = (html: string) => /<p class="muted">([^<]*(?:<code>[^<]*<\/code>[^<]*)?tracker [^<]*)<\/p>/.exec(html)?.[1];

/** Finish the stages after track, and the job. */
function finishRest(db: Db, id: number): void {
  for (const name of ['merge', 'emit', 'preview'] as const) {
    db.startStage(id, name);
    db.finishStage(id, name, {});
  }
  db.finishJob(id);
}

describe('tracker time', () => {
  it('grows while a chunk is tracked, on the list, the job page and the JSON', async () => {
    const id = chunkedJob(h.db, { chunks: 3 });
    chunkDone(h.db, id, 0, 1500);
    h.db.startChunk(id, 1);
    at(5000);
    expect((await listed(id)).trackerSeconds).toBe(6.5);
    const j = await jobJson(id);
    expect(j.trackerSeconds).toBe(6.5);
    expect(j.chunkList.map((c) => c.trackerSeconds)).toEqual([1.5, 5, null]);
    expect(totalsLine(await page(id))).toContain('tracker 6.5 s');
    at(8000);
    expect((await listed(id)).trackerSeconds).toBe(9.5);
    // Once done, the chunk's time is the tracker's own busy time.
    h.db.finishChunk(id, 1, { file: 'results/1.pkl', bytes: 1, sha256: 'c'.repeat(64), trackerMs: 7000 });
    at(20_000);
    expect((await jobJson(id)).trackerSeconds).toBe(8.5);
  });
});

describe('stage times', () => {
  it('add up over a failure and a resume; the job’s own clock is its run’s, from its first tracked chunk', async () => {
    const id = chunkedJob(h.db, { chunks: 2 });
    h.db.startChunk(id, 0);
    at(44_000);
    h.db.failChunk(id, 0, { kind: 'crash', text: 'the tracker worker exited with code 1' }, false);
    failAtTrack(h.db, id, { kind: 'crash', text: 'chunk 0 failed' });
    expect(stage(await jobJson(id), 'track')).toMatchObject({ state: 'failed', attempts: 1, seconds: 44 });
    // A day later it is resumed: the time it spent failed is no work.
    h.db.resumeJob(id);
    at(86_400_000);
    h.db.claimJob(id);
    h.db.startStage(id, 'track');
    at(86_401_000);
    const running = await jobJson(id);
    expect(stage(running, 'track')).toMatchObject({ state: 'running', attempts: 2, seconds: 45, finishedMs: null });
    // Resumed and waiting for a slot: its clock does not tick.
    expect([running.state, running.seconds]).toEqual(['queued', null]);
    expect((await listed(id)).seconds).toBeNull();
    chunkDone(h.db, id, 0);
    chunkDone(h.db, id, 1);
    at(86_402_100);
    h.db.finishStage(id, 'track', {});
    finishRest(h.db, id);
    const done = await jobJson(id);
    expect(stage(done, 'track')).toMatchObject({ state: 'done', attempts: 2, seconds: 46.1, startedMs: T0 + 86_400_000, finishedMs: T0 + 86_402_100 });
    // From its first chunk of this run (tracked at 86,401 s) to its end.
    expect(done.seconds).toBe(1.1);
    expect((await listed(id)).seconds).toBe(1.1);
    const html = await page(id);
    expect(totalsLine(html)).toMatch(/^1\.1 s in all · /);
    // The lane's time is the total; its bar is the latest attempt, inside the timeline.
    const lane = /<div data-stage="track" data-state="done">.*?<span class="seg s-done" style="left:([\d.]+)%;width:([\d.]+)%"><\/span>.*?<span class="t">([^<]+)<span class="muted" title="2 attempts in all">×2<\/span>/.exec(html);
    expect(lane?.[3]).toBe('46 s ');
    expect(Number(lane![1]) + Number(lane![2])).toBeLessThanOrEqual(100.01);
  });

  it('keep the time of an attempt cut short by a stop, a cancel or a crash', async () => {
    // A graceful stop notes when the stage stopped; the next start adds the time up to then.
    const stopped = chunkedJob(h.db, { chunks: 1 });
    at(10_000);
    h.db.stopStage(stopped, 'track');
    at(60_000);
    expect(stage(await jobJson(stopped), 'track').seconds).toBe(10);
    // A crash leaves no note: the time up to the job's last chunk attempt is kept.
    at(100_000);
    const crashed = chunkedJob(h.db, { chunks: 2 });
    at(105_000);
    h.db.startChunk(crashed, 0);
    at(120_000);
    h.db.finishChunk(crashed, 0, { file: 'results/0.pkl', bytes: 1, sha256: 'c'.repeat(64), trackerMs: 15_000 });
    at(400_000);
    h.db.requeueStale();
    expect(stage(await jobJson(stopped), 'track')).toMatchObject({ state: 'pending', seconds: 10 });
    expect(stage(await jobJson(crashed), 'track')).toMatchObject({ state: 'pending', seconds: 20 });
    // A cancel carried out ends the attempt then.
    const cancelled = chunkedJob(h.db, { chunks: 1 });
    h.db.cancelJob(cancelled);
    at(430_000);
    h.db.finishCancel(cancelled);
    at(500_000);
    expect(stage(await jobJson(cancelled), 'track')).toMatchObject({ state: 'pending', seconds: 30 });
    // Each goes on from there when it runs again.
    h.db.claimJob(stopped);
    h.db.startStage(stopped, 'track');
    at(505_000);
    expect(stage(await jobJson(stopped), 'track')).toMatchObject({ state: 'running', attempts: 2, seconds: 15 });
  });
});

describe('a chunk’s error', () => {
  it('is shown while its latest attempt failed, and is history once a retry succeeded', async () => {
    const id = chunkedJob(h.db, { chunks: 2 });
    h.db.startChunk(id, 0);
    h.db.failChunk(id, 0, { kind: 'internal', text: 'IndexError: list index out of range' }, true);
    const kinds = (html: string) => {
      const table = html.slice(html.indexOf('<table id="chunks">'));
      return tags(table).filter((t) => t.name === 'span' && t.attrs.get('class') === 'kind').length;
    };
    const cell = (html: string, idx: number) => tags(html).find((t) => t.name === 'i' && t.attrs.get('data-chunk') === String(idx))!.attrs.get('title')!;
    // Waiting for its retry: the failure is the latest word on it.
    let html = await page(id);
    expect(kinds(html)).toBeGreaterThan(0);
    expect(cell(html, 0)).toContain('error: internal');
    expect((await jobJson(id)).chunkList[0]).toMatchObject({ state: 'pending', error: { kind: 'internal' }, earlierError: null });
    // Tried again: while it runs, and once it succeeded, no badge; the failure stays as history.
    h.db.startChunk(id, 0);
    expect((await jobJson(id)).chunkList[0]).toMatchObject({ state: 'running', error: null, earlierError: { kind: 'internal' } });
    h.db.finishChunk(id, 0, { file: 'results/0.pkl', bytes: 1, sha256: 'c'.repeat(64), trackerMs: 1000 });
    chunkDone(h.db, id, 1);
    h.db.finishStage(id, 'track', {});
    finishRest(h.db, id);
    html = await page(id);
    expect(kinds(html)).toBe(0);
    expect(cell(html, 0)).not.toContain('error:');
    expect(cell(html, 0)).toContain('an earlier attempt failed: internal');
    expect(html).toContain('earlier attempt: internal');
    expect((await jobJson(id)).chunkList[0]).toMatchObject({ state: 'done', error: null, earlierError: { kind: 'internal' } });
  });
});
