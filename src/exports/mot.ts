/**
 * MOTChallenge 2D text, as TrackEval and py-motmetrics read it: one line per person per frame,
 * `frame,id,x,y,w,h,conf,-1,-1,-1`, frames numbered from 1 (the output's frame index + 1), the box
 * in pixels as the output gives it.
 */
import type { FramePass } from './pass.ts';
import type { OutputHeader } from './read-output.ts';

/** The MOT text of an output, a frame's lines at a time. */
export async function* motPieces(_header: OutputHeader, frames: FramePass, tracks: ReadonlySet<number> | undefined): AsyncGenerator<string> {
  for await (const frame of frames()) {
    let lines = '';
    for (const p of frame.persons) {
      if (tracks && !tracks.has(p.track)) continue;
      const [x, y, w, h] = p.bbox;
      lines += `${frame.index + 1},${p.track},${x},${y},${w},${h},${p.score},-1,-1,-1\n`;
    }
    if (lines) yield lines;
  }
}
