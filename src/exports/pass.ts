/**
 * What a format's writer is handed beside the output's header: a way to read its frames (again),
 * and the tools a per-track format may need. Apart from formats.ts, so the formats import it
 * without importing the list of formats that imports them.
 */
import type { OutputFrame } from './read-output.ts';

/** A fresh pass over the output's frames, in order (a format that needs two passes calls it twice). */
export type FramePass = () => AsyncIterable<OutputFrame>;

/** What a per-track format may need beyond the output: the tracker venv's interpreter (bvh runs Python). */
export interface ExportTools {
  python: string;
}
