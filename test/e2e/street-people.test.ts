import { spawnSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { corners, iou, streetTruth } from '../../bench/truth/street.ts';
import { STREET_PEOPLE } from '../helpers/fixtures.ts';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { readValidOutput } from '../helpers/output.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
afterEach(() => ws?.cleanup());

describe('real people: street-people.avi in 1-second chunks', () => {
  // The machinery's detector (HOG, as test/helpers/cli.ts pins it) over the whole clip.
  it('detects people in most frames and keeps their ids across chunk boundaries, misses and crossings', async () => {
    ws = makeWorkspace('street');
    const r = await runCli(['run', STREET_PEOPLE, '--chunk-seconds', '1'], cliEnv(ws));
    expect(r.code, r.stderr).toBe(0);
    const doc = readValidOutput(join(ws.outbox, 'street-people.json'));
    expect(doc.frames).toHaveLength(205);
    expect(doc.source).toMatchObject({ width: 1280, height: 720, fps: 50, frameCount: 205 });
    expect(doc.chunks.length).toBe(5);

    const withPeople = doc.frames.filter((f) => f.persons.length > 0).length;
    expect(withPeople / doc.frames.length).toBeGreaterThan(0.7);

    // A boundary is crossed by a track when it has observations on both sides of it.
    const boundaries = doc.chunks.slice(1).map((c) => c.firstFrame);
    const seen = new Map<number, number[]>();
    for (const f of doc.frames) for (const p of f.persons) seen.set(p.track, [...(seen.get(p.track) ?? []), f.index]);
    const crossing = [...seen.entries()].filter(([, frames]) => boundaries.some((b) => frames.some((i) => i < b) && frames.some((i) => i >= b)));
    expect(crossing.length).toBeGreaterThan(0);
    // And the tracks list agrees with the frames.
    for (const t of doc.tracks) {
      const frames = seen.get(t.id)!;
      expect([t.firstFrame, t.lastFrame, t.frames]).toEqual([frames[0], frames.at(-1), frames.length]);
    }

    // Ids that hold (issue 12, part 4; npm run bench:ids prints the figures). Before it: 13 tracks,
    // 7 shorter than 50 frames, 3 shorter than 10, one person from the first frame to the last.
    const spans = doc.tracks.map((t) => t.lastFrame - t.firstFrame + 1);
    expect(spans.filter((n) => n < 10), 'tracks shorter than 10 frames').toEqual([]);
    expect(doc.tracks.length).toBeLessThanOrEqual(10);
    expect(spans.filter((n) => n < 50).length).toBeLessThanOrEqual(3);
    // Two people are in view all along: the woman in the denim jacket (centre x about 650 at the
    // start, 1020 at the end, where another woman has stepped out from behind her) and the man
    // with the white bag (about 400, then 500). Each keeps one id over all 205 frames.
    const nearest = (frame: number, x: number) => {
      const persons = doc.frames[frame]!.persons;
      const centre = (p: (typeof persons)[number]) => p.bbox[0]! + p.bbox[2]! / 2;
      return persons.reduce((a, b) => (Math.abs(centre(b) - x) < Math.abs(centre(a) - x) ? b : a)).track;
    };
    for (const [start, end] of [[650, 1020], [400, 500]] as const) {
      const id = nearest(0, start);
      expect(nearest(204, end), `the person at x ${start} in frame 0`).toBe(id);
      expect(doc.tracks.find((t) => t.id === id)).toMatchObject({ firstFrame: 0, lastFrame: 204 });
    }

    // The same video under another name gets its own JSON from the first job's result, without tracking again.
    const copy = join(ws.root, 'street copy.avi');
    copyFileSync(STREET_PEOPLE, copy);
    const again = await runCli(['run', copy, '--chunk-seconds', '1'], cliEnv(ws));
    expect(again.code, again.stderr).toBe(0);
    const copied = readValidOutput(join(ws.outbox, 'street copy.json'));
    expect(copied.source.name).toBe('street copy.avi');
    expect({ ...copied, source: { ...copied.source, name: doc.source.name } }).toEqual(doc);
    const st = JSON.parse((await runCli(['status', '--json'], cliEnv(ws))).stdout) as { jobs: { id: number; copyOf: number | null; trackerSeconds: number; chunkList: unknown[] }[] };
    const second = st.jobs.find((j) => j.id === 2)!;
    expect(second).toMatchObject({ copyOf: 1, trackerSeconds: 0, chunkList: [] });
    expect(st.jobs.find((j) => j.id === 1)!.trackerSeconds).toBeGreaterThan(0);
  });

  it('with the default detector (CenterNet), finds the people marked by eye and keeps the ids of those in view all along', async () => {
    ws = makeWorkspace('street-default');
    // The clip's first second (frames 0–49): three of its frames are marked by eye.
    const clip = join(ws.root, 'street second.mkv');
    const cut = spawnSync('ffmpeg', ['-v', 'error', '-i', STREET_PEOPLE, '-frames:v', '50', '-an', '-c:v', 'copy', clip]);
    expect(cut.status, cut.stderr.toString()).toBe(0);
    const r = await runCli(['run', clip, '--chunk-seconds', '0.5'], cliEnv(ws, { POSEPIPE_BUILTIN_DETECTOR: '' }));
    expect(r.code, r.stderr).toBe(0);
    const doc = readValidOutput(join(ws.outbox, 'street second.json'));
    expect(doc.tracker.version).toMatch(/centernet @vladmandic\/human-models 3\.0\.4 on tfjs-wasm/);
    expect(doc.chunks.length).toBe(2);
    const truth = streetTruth();
    const ids = new Map<string, number[]>();
    for (const frame of [0, 20, 40]) {
      const marked = truth.frames[frame]!;
      marked.people.forEach((box, k) => {
        const rows = doc.frames[frame]!.persons.map((p) => ({ track: p.track, overlap: iou(corners(p.bbox), box) }));
        const best = rows.sort((a, b) => b.overlap - a.overlap)[0];
        const who = marked.who[k]!;
        if (best && best.overlap >= 0.5) ids.set(who, [...(ids.get(who) ?? []), best.track]);
      });
    }
    // The woman in the denim jacket (A), the man with the white bag (C) and the woman in black (D)
    // are marked in all three frames: each found in each, under one id.
    for (const who of ['A', 'C', 'D']) {
      const tracks = ids.get(who) ?? [];
      expect([who, tracks.length, new Set(tracks).size], `${who}: frames found, ids`).toEqual([who, 3, 1]);
    }
    const mean = doc.frames.reduce((n, f) => n + f.persons.length, 0) / doc.frames.length;
    expect(mean, 'people a frame').toBeGreaterThanOrEqual(5);
  });
});

