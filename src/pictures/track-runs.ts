import { MAX_RUNS, MAX_TRACKS, type TrackRuns } from './pictures.ts';

/**
 * Every track's runs of consecutive frames, built from (frame, track) sightings given in frame
 * order (the merge's rows): a track seen twice in one frame counts once. `renamed` maps the ids
 * the sightings used (the merge's provisional ones) to those shown.
 */
export class TrackRunsBuilder {
  readonly #byId = new Map<number, TrackRuns>();

  add(frame: number, track: number): void {
    let t = this.#byId.get(track);
    if (!t) this.#byId.set(track, (t = { id: track, frames: 0, runs: [] }));
    const last = t.runs.at(-1);
    if (last && last[1] === frame) return;
    t.frames += 1;
    if (last && last[1] === frame - 1) last[1] = frame;
    else t.runs.push([frame, frame]);
  }

  runs(renamed: (id: number) => number = (id) => id): TrackRuns[] {
    return [...this.#byId.values()].map((t) => ({ ...t, id: renamed(t.id) }));
  }
}

/**
 * Every track's runs of consecutive frames, from frames given in any order. A track seen twice in
 * one frame counts once. `frames` is the number of frames the track appears in.
 */
export function allTrackRuns(frames: ReadonlyArray<{ index: number; persons: ReadonlyArray<{ track: number }> }>): TrackRuns[] {
  const builder = new TrackRunsBuilder();
  for (const frame of [...frames].sort((a, b) => a.index - b.index)) {
    for (const { track } of frame.persons) builder.add(frame.index, track);
  }
  return builder.runs();
}

/**
 * The tracks the timeline shows: the MAX_TRACKS with most frames (ties: lower id), ordered by
 * first frame (ties: lower id), each with at most MAX_RUNS runs; `moreTracks` counts the rest.
 */
export function shownTracks(tracks: readonly TrackRuns[]): { tracks: TrackRuns[]; moreTracks: number } {
  const shown = [...tracks]
    .sort((a, b) => b.frames - a.frames || a.id - b.id)
    .slice(0, MAX_TRACKS)
    .sort((a, b) => (a.runs[0]?.[0] ?? 0) - (b.runs[0]?.[0] ?? 0) || a.id - b.id)
    .map((t) => ({ id: t.id, frames: t.frames, runs: capRuns(t.runs, MAX_RUNS) }));
  return { tracks: shown, moreTracks: tracks.length - shown.length };
}

/**
 * At most `max` runs, made by closing the smallest gaps between neighbouring runs (ties: the
 * earlier gap): a track that flickers in and out over four hours would otherwise draw tens of
 * thousands of rectangles, most thinner than a pixel. A merged run covers the frames of the gap
 * too, so the drawing overstates presence a little; the track's frame count stays exact.
 */
export function capRuns(runs: ReadonlyArray<readonly [number, number]>, max: number): Array<[number, number]> {
  if (runs.length <= max) return runs.map(([a, b]) => [a, b]);
  const gaps = runs.slice(1).map((run, i) => ({ i, size: run[0] - runs[i]![1] }));
  gaps.sort((a, b) => a.size - b.size || a.i - b.i);
  const closed = new Set(gaps.slice(0, runs.length - Math.max(1, max)).map((gap) => gap.i));
  const out: Array<[number, number]> = [[runs[0]![0], runs[0]![1]]];
  for (let i = 1; i < runs.length; i += 1) {
    if (closed.has(i - 1)) out.at(-1)![1] = runs[i]![1];
    else out.push([runs[i]![0], runs[i]![1]]);
  }
  return out;
}
