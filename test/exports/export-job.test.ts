/**
 * Exports of a done job made with the phalp stand-in's settings (the test-fixture backend, two
 * people, phalp-shaped extras: keypoints2d 45 × 2), its output that backend's committed golden: `posepipe export` as a process and in-process (its
 * errors and exit codes), and GET /api/jobs/:id/export/:format behind the page's login, with the
 * job page's links. Two seeded jobs beside it: one queued, one done whose output says builtin.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.ts';
import { loadConfig } from '../../src/config.ts';
import { openDb } from '../../src/db/index.ts';
import { settingsRecord, workSettings } from '../../src/work-settings.ts';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { type OutputDoc, readValidOutput } from '../helpers/output.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { startHarness, type Harness } from '../server/harness.ts';
import { doneJob, queuedJob } from '../server/seed.ts';
import { readCsv, readMot } from './read-back.ts';

type Person = OutputDoc['frames'][number]['persons'][number] & { keypoints2d: number[][] };

const OPERATOR = 'operator-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';
// COCO keypoint k is BODY_25 point OPENPOSE[k]: from OpenPose's own keypoint list.
const OPENPOSE = [0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11];

let ws: Workspace;
let env: NodeJS.ProcessEnv;
let doc: OutputDoc;
let queued: number;
let builtin: number;

/** The output's persons of `track` (every track when undefined), each with its frame. */
const persons = (track?: number) => doc.frames.flatMap((f) => f.persons.filter((p) => track === undefined || p.track === track).map((p) => ({ f, p: p as Person })));

beforeAll(() => {
  ws = makeWorkspace('export-job');
  env = cliEnv(ws);
  const db = openDb(ws.home);
  try {
    const config = loadConfig({ env: { HOME: ws.root, POSEPIPE_HOME: ws.home, POSEPIPE_OUTBOX: ws.outbox }, cwd: ws.root, wsl: false });
    // Job 1: done, made with the phalp stand-in's settings; its output that backend's committed golden.
    const golden = gunzipSync(readFileSync('test/golden/with-audio.phalp-shaped.json.gz'));
    const made = settingsRecord({ ...workSettings(config), backend: 'test-fixture', backendSettings: { POSEPIPE_TEST_FIXTURE_PEOPLE: '2', POSEPIPE_TEST_FIXTURE_EXTRAS: 'phalp' } });
    const id = doneJob(db, config, { name: 'a clip.mp4', chunks: 1, perChunk: 50, settings: made });
    expect(id).toBe(1);
    writeFileSync(join(ws.outbox, 'a clip.json'), golden);
    doc = readValidOutput(join(ws.outbox, 'a clip.json'));
    queued = queuedJob(db, 'waiting.mp4');
    // A done job made before settings were recorded, whose output's header says builtin.
    builtin = doneJob(db, config, { name: 'boxes.mp4', chunks: 1, perChunk: 50 });
    writeFileSync(join(ws.outbox, db.getJob(builtin)!.output_name), golden.toString('utf8').replace('"backend":"test-fixture"', '"backend":"builtin"'));
  } finally {
    db.close();
  }
});
afterAll(() => ws?.cleanup());

/** Run the CLI in this process; its exit code and what it printed. */
async function inProcess(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
  const error = vi.spyOn(console, 'error').mockImplementation((s: string) => void err.push(s));
  try {
    const code = await main([...args, '--home', ws.home, '--outbox', ws.outbox]);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('posepipe export', () => {
  it('writes coco for one track into the outbox and prints its path; phalp\'s 45 points mapped to COCO\'s 17', async () => {
    const r = await runCli(['export', 'a clip.mp4', '--format', 'coco', '--track', '2'], env);
    const file = join(ws.outbox, 'a clip.tracks-2.coco.json');
    expect([r.code, r.stdout, r.stderr]).toEqual([0, `${file}\n`, '']);
    const coco = JSON.parse(readFileSync(file, 'utf8'));
    expect(coco.images).toHaveLength(doc.source.frameCount);
    const last = doc.frames.length - 1;
    expect(coco.images[last]).toEqual({ id: last + 1, frame_index: last, frame_id: last, time: doc.frames[last]!.time, file_name: `0000${last}.jpg`, width: doc.source.width, height: doc.source.height, nframes: doc.frames.length });
    const expected = persons(2);
    expect(expected.length).toBe(doc.frames.length);
    expect(coco.annotations).toHaveLength(expected.length);
    expected.forEach(({ f, p }, n) => {
      const a = coco.annotations[n];
      expect([a.image_id, a.track_id, a.bbox, a.score, a.num_keypoints]).toEqual([f.index + 1, 2, p.bbox, p.score, 17]);
      expect(a.keypoints).toEqual(OPENPOSE.flatMap((k) => [p.keypoints2d[k]![0], p.keypoints2d[k]![1], 2]));
    });
  });

  it('writes csv into --out, read back equal to the boxes and keypoints', async () => {
    const r = await inProcess(['export', '1', '--format', 'csv', '--out', ws.root]);
    expect([r.code, r.out, r.err]).toEqual([0, join(ws.root, 'a clip.csv.csv'), '']);
    const [head, ...rows] = readCsv(readFileSync(join(ws.root, 'a clip.csv.csv'), 'utf8'));
    expect(head).toHaveLength(8 + 45 * 2);
    expect(rows.map((row) => row.map(Number))).toEqual(persons().map(({ f, p }) => [f.index, f.time, p.track, ...p.bbox, p.score, ...p.keypoints2d.flat()]));
  });

  it('exits 2 naming the cause: no or unknown format, a bad track, no such job, a job not done, a format its backend does not give', async () => {
    const cases: [string[], string][] = [
      [['export', '1'], 'posepipe export needs --format (mot, csv or coco)'],
      [['export', '--format', 'mot'], 'posepipe export takes exactly one job'],
      [['status', '--format', 'mot'], '--format, --track and --out belong to posepipe export'],
      [['export', '1', '--format', 'bvh2'], 'posepipe: there is no export format "bvh2": give one of mot, csv, coco'],
      [['export', '1', '--format', 'mot', '--track', 'two'], 'posepipe: --track takes a track id (a whole number from 1), got "two"'],
      [['export', '1', '--format', 'mot', '--track', '7'], 'has no track 7 (its tracks: 1, 2)'],
      [['export', '99', '--format', 'mot'], 'posepipe: no job 99'],
      [['export', String(queued), '--format', 'mot'], `posepipe: job ${queued} (waiting.mp4) is queued: only a done job's output can be exported`],
      [['export', String(builtin), '--format', 'coco'], `posepipe: job ${builtin}: the coco format needs 2D keypoints, which the builtin backend did not give this job`],
    ];
    for (const [args, message] of cases) {
      const r = await inProcess(args);
      expect([r.code, r.out], args.join(' ')).toEqual([2, '']);
      expect(r.err, args.join(' ')).toContain(message);
    }
  });
});

describe('GET /api/jobs/:id/export/:format', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ ws, flags: { auth: 'on' }, env: { POSEPIPE_PAGE_TOKEN: OPERATOR, POSEPIPE_VIEWER_TOKEN: VIEWER } });
  });
  afterAll(() => h?.stop());
  const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  it('needs a login; streams mot as an attachment equal to the boxes, one track with ?track', async () => {
    expect((await h.send('/api/jobs/1/export/mot')).status).toBe(401);
    expect((await h.send('/api/jobs/1/export/mot', as('wrong-token-0123456789abcdef'))).status).toBe(401);
    const r = await h.send('/api/jobs/1/export/mot', as(VIEWER));
    expect([r.status, r.headers['content-type'], r.headers['content-disposition'], r.headers['cache-control']]).toEqual([200, 'text/plain; charset=utf-8', "attachment; filename*=UTF-8''a%20clip.mot.txt", 'no-store']);
    expect(readMot(r.body)).toEqual(persons().map(({ f, p }) => [f.index + 1, p.track, ...p.bbox, p.score, -1, -1, -1]));
    const one = await h.send('/api/jobs/1/export/mot?track=1', as(OPERATOR));
    expect([one.status, one.headers['content-disposition']]).toEqual([200, "attachment; filename*=UTF-8''a%20clip.tracks-1.mot.txt"]);
    expect(readMot(one.body)).toEqual(persons(1).map(({ f, p }) => [f.index + 1, 1, ...p.bbox, p.score, -1, -1, -1]));
    // HEAD answers the headers alone (the export is not made).
    const head = await h.send('/api/jobs/1/export/csv', { method: 'HEAD', ...as(VIEWER) });
    expect([head.status, head.headers['content-type'], head.headers['content-disposition'], head.body]).toEqual([200, 'text/csv; charset=utf-8', "attachment; filename*=UTF-8''a%20clip.csv.csv", '']);
  });

  it('answers an unknown format, a job not done and a format the backend does not give with a status and the reason', async () => {
    const cases: [string, number, string][] = [
      ['/api/jobs/1/export/bvh2', 404, 'No export format "bvh2": there are mot, csv, coco'],
      [`/api/jobs/${queued}/export/mot`, 404, `Job ${queued} has no output to export yet (it is queued)`],
      [`/api/jobs/${builtin}/export/coco`, 400, `Job ${builtin}: the coco format needs 2D keypoints, which the builtin backend did not give this job`],
      ['/api/jobs/1/export/mot?track=x', 400, 'track must be a track id (a whole number from 1)'],
      ['/api/jobs/1/export/mot?track=9', 400, 'has no track 9'],
    ];
    for (const [path, status, message] of cases) {
      const r = await h.send(path, as(VIEWER));
      expect(r.status, path).toBe(status);
      expect(JSON.parse(r.body).error, path).toContain(message);
    }
  });

  it('links the formats its backend gives on a done job\'s page', async () => {
    const page = (await h.send('/jobs/1', as(VIEWER))).body;
    for (const f of ['mot', 'csv', 'coco']) expect(page).toContain(`<a data-export="${f}" href="/api/jobs/1/export/${f}" download`);
    const boxes = (await h.send(`/jobs/${builtin}`, as(VIEWER))).body;
    expect(boxes).toContain('data-export="mot"');
    expect(boxes).not.toContain('data-export="coco"');
    expect((await h.send(`/jobs/${queued}`, as(VIEWER))).body).not.toContain('data-export');
  });
});
