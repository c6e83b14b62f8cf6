/**
 * The output document (schema posepipe/1) as a stream of text pieces: the header (every field but
 * the frames, in the order the caller built it) and then one frame at a time, so no step holds
 * the frames or one string of the whole document. The bytes are those of JSON.stringify of the
 * whole document (the frames are its last key). The JSON Lines form (outputFormat jsonl) is the
 * same header and frames, one per line.
 */

const micro = (seconds: number): number => Math.round(seconds * 1e6) / 1e6;

/** A frame's `time` in the output: from the first frame's presentation time, else index / fps; to the microsecond. */
export function outputTime(index: number, times: readonly number[] | undefined, fps: number): number {
  return micro(times ? times[index]! - times[0]! : index / fps);
}

/**
 * One frame as JSON text, its persons given as JSON text: `time` is its presentation time counted
 * from the first frame's (a stream that starts at 10 s, or after an edit list, still starts at 0),
 * `sourceTime` the time the source gives it; both to the microsecond. Without the source's times,
 * time = index / fps and no sourceTime. Keys in this order, numbers as JSON.stringify writes them.
 */
export function frameText(index: number, persons: string, times: readonly number[] | undefined, fps: number): string {
  const time = outputTime(index, times, fps);
  if (!times) return `{"index":${index},"time":${JSON.stringify(time)},"persons":${persons}}`;
  return `{"index":${index},"time":${JSON.stringify(time)},"sourceTime":${JSON.stringify(micro(times[index]!))},"persons":${persons}}`;
}

/**
 * The document `{...header, frames: [...]}` as compact JSON and a newline, piece by piece; each
 * frame is given as its JSON text (frameText).
 */
export async function* jsonDocument(header: object, frames: AsyncIterable<string>): AsyncGenerator<string> {
  if ('frames' in header) throw new TypeError('jsonDocument: the header must not hold the frames');
  const open = JSON.stringify({ ...header, frames: [] });
  // `…,"frames":[]}` without its `]}`: the frames follow, then the document is closed.
  yield open.slice(0, -2);
  let first = true;
  for await (const frame of frames) {
    yield first ? frame : `,${frame}`;
    first = false;
  }
  yield ']}\n';
}

/**
 * The same document as JSON Lines: the header (every field but the frames) on the first line,
 * then each frame on its own line, in order; every line the very JSON the document form holds.
 */
export async function* jsonLines(header: object, frames: AsyncIterable<string>): AsyncGenerator<string> {
  if ('frames' in header) throw new TypeError('jsonLines: the header must not hold the frames');
  yield `${JSON.stringify(header)}\n`;
  for await (const frame of frames) yield `${frame}\n`;
}
