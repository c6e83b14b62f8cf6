/**
 * COCO person keypoints, PoseTrack-style: `info`, `categories` (COCO's person with its 17 keypoint
 * names and skeleton), `images` (one per frame of the video: `id` = frame index + 1, `frame_index`,
 * `frame_id`, `time`, `file_name` `%06d.jpg` of the frame index, width, height, `nframes`) and
 * `annotations` (one per person per frame: `id`, `image_id`, `category_id` 1, `track_id`,
 * `keypoints` [x, y, v] × 17 with v = 2 for a point given and 0 for one the backend gave as NaN,
 * `num_keypoints`, `bbox`, `area`, `iscrowd` 0, `score`, and `keypoint_scores` where the backend
 * scores its points). Two passes over the frames: the images, then the annotations.
 */
import { COCO_KEYPOINTS, COCO_SKELETON, PHALP_TO_COCO } from './coco-skeleton.ts';
import { ExportError } from './export-error.ts';
import type { FramePass } from './pass.ts';
import type { OutputHeader, OutputPerson } from './read-output.ts';

/** One COCO annotation's keypoint fields from a person's keypoints2d (17 COCO points, or phalp's 45). */
export function cocoKeypoints(p: OutputPerson, where: string): { keypoints: number[]; num_keypoints: number; keypoint_scores?: number[] } {
  const points = p.keypoints2d;
  if (!Array.isArray(points)) throw new ExportError(`${where} has no keypoints2d: coco needs 2D keypoints (was the extras setting without keypoints2d?)`);
  let order: readonly number[];
  if (points.length === COCO_KEYPOINTS.length) order = COCO_KEYPOINTS.map((_, k) => k);
  else if (points.length === 45) order = PHALP_TO_COCO;
  else throw new ExportError(`${where} has ${points.length} keypoints: coco maps COCO's 17 or phalp's 45`);
  const keypoints: number[] = [];
  const scores: number[] = [];
  let visible = 0;
  for (const k of order) {
    const [x, y, score] = points[k]!;
    const given = typeof x === 'number' && typeof y === 'number';
    keypoints.push(given ? x : 0, given ? y : 0, given ? 2 : 0);
    if (given) visible += 1;
    if (points[k]!.length === 3) scores.push(typeof score === 'number' ? score : 0);
  }
  return scores.length ? { keypoints, num_keypoints: visible, keypoint_scores: scores } : { keypoints, num_keypoints: visible };
}

/** The COCO document of an output, piece by piece. */
export async function* cocoPieces(header: OutputHeader, frames: FramePass, tracks: ReadonlySet<number> | undefined): AsyncGenerator<string> {
  const { source, tracker } = header;
  const head = {
    info: { description: `posepipe export of ${source.name}`, source: { name: source.name, sha256: source.sha256, width: source.width, height: source.height, fps: source.fps, frameCount: source.frameCount }, tracker },
    categories: [{ id: 1, name: 'person', supercategory: 'person', keypoints: COCO_KEYPOINTS, skeleton: COCO_SKELETON }],
    images: [],
  };
  // `…,"images":[]}` without its `]}`: the images follow.
  yield JSON.stringify(head).slice(0, -2);
  let sep = '';
  for await (const f of frames()) {
    const image = { id: f.index + 1, frame_index: f.index, frame_id: f.index, time: f.time, file_name: `${String(f.index).padStart(6, '0')}.jpg`, width: source.width, height: source.height, nframes: source.frameCount };
    yield sep + JSON.stringify(image);
    sep = ',';
  }
  yield '],"annotations":[';
  sep = '';
  let id = 0;
  for await (const f of frames()) {
    let text = '';
    for (const p of f.persons) {
      if (tracks && !tracks.has(p.track)) continue;
      const [x, y, w, h] = p.bbox;
      const points = cocoKeypoints(p, `frame ${f.index}, track ${p.track}`);
      const annotation = { id: ++id, image_id: f.index + 1, category_id: 1, track_id: p.track, keypoints: points.keypoints, num_keypoints: points.num_keypoints, bbox: [x, y, w, h], area: Math.round(w * h * 100) / 100, iscrowd: 0, score: p.score, ...(points.keypoint_scores ? { keypoint_scores: points.keypoint_scores } : {}) };
      text += sep + JSON.stringify(annotation);
      sep = ',';
    }
    if (text) yield text;
  }
  yield ']}\n';
}
