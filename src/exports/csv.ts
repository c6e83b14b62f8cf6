/**
 * CSV (RFC 4180: CRLF line ends, a header row, fields quoted where they hold a comma, a quote or a
 * line end): one row per person per frame with frame, time, track, the box, the score, and the 2D
 * keypoints flattened where the backend gives them: `<name>_x,<name>_y[,<name>_score]` per point,
 * named after COCO's keypoints for 17 points and by index (`kp0_x`, …) otherwise. The columns come
 * from the first person in the output; a keypoint the backend gave as NaN is an empty field.
 */
import { COCO_KEYPOINTS } from './coco-skeleton.ts';
import type { FramePass } from './pass.ts';
import { ExportError } from './export-error.ts';
import type { OutputHeader, OutputPerson } from './read-output.ts';

/** One field, quoted only where RFC 4180 asks it. */
export function csvField(value: string | number | null | undefined): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const row = (fields: (string | number | null | undefined)[]): string => `${fields.map(csvField).join(',')}\r\n`;

/** The keypoints' shape: how many points, and whether each has a score. */
interface Shape {
  points: number;
  values: 2 | 3;
}

function shapeOf(p: OutputPerson): Shape | undefined {
  const k = p.keypoints2d;
  if (!Array.isArray(k) || k.length === 0) return undefined;
  return { points: k.length, values: k[0]!.length === 3 ? 3 : 2 };
}

function columns(shape: Shape | undefined): string[] {
  const head = ['frame', 'time', 'track', 'x', 'y', 'w', 'h', 'score'];
  if (!shape) return head;
  const names = shape.points === COCO_KEYPOINTS.length ? COCO_KEYPOINTS : Array.from({ length: shape.points }, (_, k) => `kp${k}`);
  const parts = shape.values === 3 ? ['x', 'y', 'score'] : ['x', 'y'];
  return [...head, ...names.flatMap((n) => parts.map((part) => `${n}_${part}`))];
}

/** The CSV text of an output: the header row, then a frame's rows at a time. */
export async function* csvPieces(header: OutputHeader, frames: FramePass, tracks: ReadonlySet<number> | undefined): AsyncGenerator<string> {
  let shape: Shape | undefined | null = null;
  for await (const frame of frames()) {
    let rows = '';
    for (const p of frame.persons) {
      if (tracks && !tracks.has(p.track)) continue;
      const here = shapeOf(p);
      if (shape === null) {
        // Frames before the first person give no rows: the first person decides the columns.
        shape = here;
        yield row(columns(shape));
      } else if (here && (!shape || here.points !== shape.points || here.values !== shape.values)) {
        throw new ExportError(`${header.source.name}: frame ${frame.index}, track ${p.track}: ${here.points} keypoints of ${here.values} values where the first person had ${shape ? `${shape.points} of ${shape.values}` : 'none'}`);
      }
      const fields: (string | number | null | undefined)[] = [frame.index, frame.time, p.track, ...p.bbox, p.score];
      if (shape) {
        for (let k = 0; k < shape.points; k++) for (let v = 0; v < shape.values; v++) fields.push(p.keypoints2d?.[k]?.[v]);
      }
      rows += row(fields);
    }
    if (rows) yield rows;
  }
  if (shape === null) yield row(columns(undefined));
}
