import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { STREET_PEOPLE } from '../helpers/fixtures.ts';
import { cliEnv, runCli } from '../helpers/cli.ts';
import { readValidOutput } from '../helpers/output.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
afterEach(() => ws?.cleanup());

describe('real people: street-people.avi in 1-second chunks', () => {
  it('detects people in most frames and keeps a track id across a chunk boundary', async () => {
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
});
