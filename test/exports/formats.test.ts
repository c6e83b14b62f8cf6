/**
 * The export formats over outputs written by emit's own document writers (src/merge's jsonDocument
 * and jsonLines): a keypoints-backend output (17 scored COCO points, one given as NaN), a
 * phalp-shaped one (45 points) and a boxes-only builtin one. Each export is read back by an
 * independent reader (read-back.ts) and compared with the frames it came from.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeStreamAtomic } from '../../src/atomic-file.ts';
import { EXPORT_FORMAT_NAMES, loadConfig } from '../../src/config.ts';
import { EXPORT_FORMATS, ExportError, openOutput, OutputReadError, prepareExport, writeExport } from '../../src/exports/index.ts';
import { csvField } from '../../src/exports/csv.ts';
import { jsonDocument, jsonLines } from '../../src/merge/output-document.ts';
import type { WorkSettings } from '../../src/work-settings.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { readCsv, readMot } from './read-back.ts';

type Person = { track: number; bbox: number[]; score: number; keypoints2d?: (number | null)[][] };
type Frame = { index: number; time: number; persons: Person[] };

const FRAMES = 7;
const COCO = ['nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle'];
// COCO keypoint k is BODY_25 point OPENPOSE[k] (nose 0, eyes 16/15, ears 18/17, shoulders 5/2, …): from OpenPose's own list.
const OPENPOSE = [0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11];

/** Frames where track 1 is in every frame, track 2 from frame 2, nobody in frame 0. */
function makeFrames(points: number, values: 2 | 3): Frame[] {
  return Array.from({ length: FRAMES }, (_, index) => ({
    index,
    time: index / 25,
    persons: index === 0 ? [] : [1, 2].filter((t) => t === 1 || index >= 2).map((track) => ({
      track,
      bbox: [10.25 * track + index, 20.5, 30, 60.75],
      score: 0.5 + track / 10,
      ...(points ? { keypoints2d: Array.from({ length: points }, (_, k) => (k === 3 && track === 2 ? [null, null, ...(values === 3 ? [0] : [])] : [k * 10 + index + 0.5, k * 2 + track, ...(values === 3 ? [k / 100] : [])])) } : {}),
    })),
  }));
}

function header(backend: string) {
  return {
    schema: 'posepipe/1',
    source: { name: 'clip, "quoted".mp4', sha256: 'a'.repeat(64), bytes: 1, width: 320, height: 240, fps: 25, frameCount: FRAMES, durationSeconds: FRAMES / 25, codec: 'h264' },
    tracker: { backend, version: '1', device: 'cpu' },
    chunks: [{ index: 0, firstFrame: 0, frameCount: FRAMES, overlapFrames: 0 }],
    tracks: [{ id: 1, firstFrame: 1, lastFrame: FRAMES - 1, frames: FRAMES - 1 }, { id: 2, firstFrame: 2, lastFrame: FRAMES - 1, frames: FRAMES - 2 }],
  };
}

const settings = (backend: string, extras = 'all', backendSettings: Record<string, string> = {}): WorkSettings => ({ backend, version: '1', python: 'p', backendSettings, chunkSeconds: 10, overlapFrames: 16, extras, outputFormat: 'json' });

async function* texts(frames: Frame[]): AsyncGenerator<string> {
  for (const f of frames) yield JSON.stringify(f);
}

let ws: Workspace;
const outputs: Record<string, { file: string; frames: Frame[]; settings: WorkSettings }> = {};

beforeAll(async () => {
  ws = makeWorkspace('exports');
  const made = [
    ['keypoints', 'kp.json', makeFrames(17, 3), settings('keypoints')],
    ['phalp', 'phalp.jsonl', makeFrames(45, 2), settings('phalp')],
    ['builtin', 'boxes.json', makeFrames(0, 2), settings('builtin')],
  ] as const;
  for (const [backend, name, frames, s] of made) {
    const file = join(ws.outbox, name);
    await writeStreamAtomic(file, (name.endsWith('.jsonl') ? jsonLines : jsonDocument)(header(backend), texts(frames)));
    outputs[backend] = { file, frames, settings: s };
  }
});
afterAll(() => ws.cleanup());

async function exportText(backend: string, format: string, tracks: number[] = []): Promise<string> {
  const o = outputs[backend]!;
  const file = await writeExport(o.file, o.file.split('/').pop()!, o.settings, format, tracks, ws.root);
  return readFileSync(file, 'utf8');
}

describe('reading an output', () => {
  it('gives the header and every frame of the json and the jsonl form, and refuses a cut-off file naming it', async () => {
    for (const backend of ['keypoints', 'phalp']) {
      const reader = await openOutput(outputs[backend]!.file);
      expect(reader.header).toEqual(header(backend));
      const frames = [];
      for await (const f of reader.frames) frames.push(f);
      expect(frames).toEqual(outputs[backend]!.frames);
    }
    const cut = join(ws.root, 'cut.json');
    const whole = readFileSync(outputs.keypoints!.file, 'utf8');
    writeFileSync(cut, whole.slice(0, Math.floor(whole.length * 0.7)));
    const reader = await openOutput(cut);
    await expect((async () => { for await (const _ of reader.frames); })()).rejects.toThrow(OutputReadError);
    writeFileSync(cut, whole.replace(`"frameCount":${FRAMES}`, `"frameCount":${FRAMES + 1}`));
    await expect((async () => { for await (const _ of (await openOutput(cut)).frames); })()).rejects.toThrow(`Cannot read the output "${cut}": it holds ${FRAMES} frames where its source has ${FRAMES + 1}`);
    writeFileSync(cut, '{"schema":"other","frames":[]}');
    await expect(openOutput(cut)).rejects.toThrow('its header is not that of a posepipe/1 output');
  });
});

describe('mot', () => {
  it('is one line per person per frame, frames from 1, equal to the boxes; --track keeps only those', async () => {
    for (const backend of ['keypoints', 'phalp', 'builtin']) {
      const lines = readMot(await exportText(backend, 'mot'));
      const expected = outputs[backend]!.frames.flatMap((f) => f.persons.map((p) => [f.index + 1, p.track, ...p.bbox, p.score, -1, -1, -1]));
      expect(lines, backend).toEqual(expected);
    }
    const two = readMot(await exportText('builtin', 'mot', [2]));
    expect(two.map((l) => l[1])).toEqual(Array(FRAMES - 2).fill(2));
    expect(two[0]![0]).toBe(3);
  });
});

describe('csv', () => {
  it('has a header row naming COCO points and one row per person, NaN points as empty fields', async () => {
    const [head, ...rows] = readCsv(await exportText('keypoints', 'csv'));
    expect(head).toEqual(['frame', 'time', 'track', 'x', 'y', 'w', 'h', 'score', ...COCO.flatMap((n) => [`${n}_x`, `${n}_y`, `${n}_score`])]);
    const frames = outputs.keypoints!.frames;
    const expected = frames.flatMap((f) => f.persons.map((p) => [f.index, f.time, p.track, ...p.bbox, p.score, ...p.keypoints2d!.flat()].map((v) => (v === null ? '' : String(v)))));
    expect(rows).toEqual(expected);
    expect(rows.some((r) => r[8 + 3 * 3] === '')).toBe(true);
  });

  it('names the points by index where they are not COCO\'s 17, has only the box columns without keypoints, and quotes per RFC 4180', async () => {
    const [head, ...rows] = readCsv(await exportText('phalp', 'csv', [1]));
    expect(head!.slice(8, 12)).toEqual(['kp0_x', 'kp0_y', 'kp1_x', 'kp1_y']);
    expect(head).toHaveLength(8 + 45 * 2);
    expect(rows.map((r) => r[2])).toEqual(Array(FRAMES - 1).fill('1'));
    const boxes = readCsv(await exportText('builtin', 'csv'));
    expect(boxes[0]).toEqual(['frame', 'time', 'track', 'x', 'y', 'w', 'h', 'score']);
    expect(boxes.slice(1).map((r) => r.map(Number))).toEqual(outputs.builtin!.frames.flatMap((f) => f.persons.map((p) => [f.index, f.time, p.track, ...p.bbox, p.score])));
    expect(['a,b', 'say "hi"', 'two\r\nlines', 'plain'].map(csvField)).toEqual(['"a,b"', '"say ""hi"""', '"two\r\nlines"', 'plain']);
    expect(readCsv(`${['a,b', 'say "hi"', 'two\r\nlines'].map(csvField).join(',')}\r\n`)).toEqual([['a,b', 'say "hi"', 'two\r\nlines']]);
  });
});

describe('coco', () => {
  it('keypoints: categories, an image per frame, an annotation per person with [x, y, v] × 17 and the scores', async () => {
    const doc = JSON.parse(await exportText('keypoints', 'coco'));
    expect(Object.keys(doc)).toEqual(['info', 'categories', 'images', 'annotations']);
    expect(doc.categories).toHaveLength(1);
    expect(doc.categories[0]).toMatchObject({ id: 1, name: 'person', supercategory: 'person', keypoints: COCO });
    expect(doc.categories[0].skeleton).toHaveLength(19);
    expect(doc.categories[0].skeleton).toContainEqual([16, 14]);
    expect(doc.info.source).toMatchObject({ name: 'clip, "quoted".mp4', width: 320, height: 240, fps: 25, frameCount: FRAMES });
    const frames = outputs.keypoints!.frames;
    expect(doc.images).toEqual(frames.map((f) => ({ id: f.index + 1, frame_index: f.index, frame_id: f.index, time: f.time, file_name: `00000${f.index}.jpg`, width: 320, height: 240, nframes: FRAMES })));
    const persons = frames.flatMap((f) => f.persons.map((p) => ({ f, p })));
    expect(doc.annotations).toHaveLength(persons.length);
    persons.forEach(({ f, p }, n) => {
      const a = doc.annotations[n];
      expect(Object.keys(a).sort()).toEqual(['area', 'bbox', 'category_id', 'id', 'image_id', 'iscrowd', 'keypoint_scores', 'keypoints', 'num_keypoints', 'score', 'track_id']);
      const keypoints = p.keypoints2d!.flatMap(([x, y]) => (x === null ? [0, 0, 0] : [x, y, 2]));
      expect(a).toEqual({ id: n + 1, image_id: f.index + 1, category_id: 1, track_id: p.track, keypoints, num_keypoints: p.track === 2 ? 16 : 17, bbox: p.bbox, area: Math.round(p.bbox[2]! * p.bbox[3]! * 100) / 100, iscrowd: 0, score: p.score, keypoint_scores: p.keypoints2d!.map((k) => k[2]) });
    });
  });

  it("phalp: its 45 points' OpenPose nose, eyes, ears, shoulders, elbows, wrists, hips, knees and ankles in COCO's order", async () => {
    const doc = JSON.parse(await exportText('phalp', 'coco', [2]));
    const persons = outputs.phalp!.frames.flatMap((f) => f.persons.filter((p) => p.track === 2));
    expect(doc.annotations.map((a: { track_id: number }) => a.track_id)).toEqual(persons.map(() => 2));
    persons.forEach((p, n) => {
      const a = doc.annotations[n];
      expect(a.keypoints).toEqual(OPENPOSE.flatMap((k) => (p.keypoints2d![k]![0] === null ? [0, 0, 0] : [p.keypoints2d![k]![0], p.keypoints2d![k]![1], 2])));
      // Track 2's point 3 (OpenPose's right elbow, COCO's 9th) is NaN: not counted, v = 0.
      expect([a.num_keypoints, a.keypoints.slice(8 * 3, 9 * 3)]).toEqual([16, [0, 0, 0]]);
      expect(a.keypoint_scores).toBeUndefined();
    });
    // Every frame is an image, whichever tracks are kept.
    expect(doc.images).toHaveLength(FRAMES);
  });

  it('is refused for a backend without 2D keypoints, naming the format and the backend; unknown tracks and formats are refused too', async () => {
    const o = outputs.builtin!;
    await expect(prepareExport(o.file, o.settings, 'coco')).rejects.toThrow(new ExportError('the coco format needs 2D keypoints, which the builtin backend did not give this job (coco comes from the keypoints backend, phalp (its 45 joints mapped to COCO\'s 17), and builtin with POSEPIPE_BUILTIN_KEYPOINTS=1, with the extras setting keeping keypoints2d)'));
    const kp = outputs.keypoints!;
    await expect(prepareExport(kp.file, settings('keypoints', 'joints3d'), 'coco')).rejects.toThrow('which the keypoints backend did not give this job');
    await (await prepareExport(kp.file, null, 'coco')).close();
    await expect(prepareExport(kp.file, kp.settings, 'mot', [3, 1])).rejects.toThrow(`${kp.file} has no track 3 (its tracks: 1, 2)`);
    await expect(prepareExport(kp.file, kp.settings, 'bvh2')).rejects.toThrow('there is no export format "bvh2": give one of mot, csv, coco');
    // builtin with its keypoints on gives coco; the header's version says so for a job without settings.
    await (await prepareExport(kp.file, settings('builtin', 'all', { POSEPIPE_BUILTIN_KEYPOINTS: '1' }), 'coco')).close();
  });
});

describe('the exports setting', () => {
  it('takes none or format names, the same names as the formats; an unknown one names the key', () => {
    expect(EXPORT_FORMATS.map((f) => f.name)).toEqual([...EXPORT_FORMAT_NAMES]);
    const env = { HOME: ws.root, POSEPIPE_HOME: ws.home };
    expect(loadConfig({ env, wsl: false }).exports).toBe('none');
    expect(loadConfig({ env: { ...env, POSEPIPE_EXPORTS: ' mot, coco,mot' }, wsl: false }).exports).toBe('mot,coco');
    for (const bad of ['bvh2', 'mot,,csv', 'none,mot', ' ']) {
      expect(() => loadConfig({ env: { ...env, POSEPIPE_EXPORTS: bad }, wsl: false }), bad).toThrow(/^Invalid exports \(from POSEPIPE_EXPORTS\): .* is not none or export formats from mot, csv, coco/);
    }
  });
});
