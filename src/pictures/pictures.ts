/** What the status page draws for a finished job: the types every file of src/pictures shares. */

/** One person as drawn on a thumbnail: the track id, the box and the tracker's score. */
export interface PicturePerson {
  track: number;
  /** [x, y, w, h] in pixels of the displayed (rotation-applied) frame. */
  bbox: [number, number, number, number];
  /** The tracker's score; 0 where the result has none (null). */
  score: number;
}

/** A picked frame: where it is in the video and who is in it. */
export interface PictureFrame {
  index: number;
  /** Seconds from the first frame: index / fps here; the page puts the source's own times in (as the output JSON has them). */
  time: number;
  persons: PicturePerson[];
}

/** Where one track appears: its frame count and its runs of consecutive frames. */
export interface TrackRuns {
  id: number;
  /** Frames the track appears in (the true count, also when runs were merged). */
  frames: number;
  /** Inclusive [first, last] frame ranges, in order; at most MAX_RUNS (see trackRuns). */
  runs: Array<[number, number]>;
}

/** Everything the status page draws for one job: picked frames and the per-track timeline. */
export interface Pictures {
  /** Displayed (rotation-applied) frame size in pixels: the coordinate space of the boxes. */
  width: number;
  height: number;
  fps: number;
  frameCount: number;
  /** The picked frames (at most MAX_PICKED), by index. */
  frames: PictureFrame[];
  /** The shown tracks (at most MAX_TRACKS), by first frame. */
  tracks: TrackRuns[];
  /** How many tracks are not shown. */
  moreTracks: number;
}

/**
 * What the pictures are drawn from, computed by the merge while it reads the chunk results and
 * kept in its small merge.json: bounded whatever the video's length (at most MAX_PICKED frames,
 * MAX_TRACKS tracks of at most MAX_RUNS runs), so the page never reads the result itself.
 */
export interface PictureIndex {
  /** The picked frames with their drawable persons, by index. */
  frames: Array<{ index: number; persons: PicturePerson[] }>;
  /** The shown tracks (see shownTracks). */
  tracks: TrackRuns[];
  moreTracks: number;
}

/** Frames picked for the thumbnail strip: enough to see tracking work, few enough to extract on a page view. */
export const MAX_PICKED = 8;
/** Tracks shown on the timeline: the rest are counted in `moreTracks`. */
export const MAX_TRACKS = 30;
/** Runs kept per track: bounds the timeline SVG of a long video (see trackRuns). */
export const MAX_RUNS = 300;
/** Thumbnail width in pixels. */
export const THUMB_WIDTH = 320;
