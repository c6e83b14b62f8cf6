import { PipelineError } from '../errors.ts';
import { pickFrames } from './pick-frames.ts';
import { MAX_PICKED, type PictureIndex, type PicturePerson, type Pictures } from './pictures.ts';
import { allTrackRuns, shownTracks } from './track-runs.ts';

/** The source facts the pictures need (the caller has them from the probe stage). */
export interface PictureFacts {
  width: number;
  height: number;
  fps: number;
  frameCount: number;
}

/** A person as read: bbox and score may be null (NaN rounds to null). */
export interface ReadPerson {
  track: number;
  bbox: unknown;
  score: unknown;
}

interface ReadFrame {
  index: number;
  persons: ReadPerson[];
}

/** A caller passing nonsense facts is a bug (TypeError); the message names the key. */
export function checkFacts(facts: PictureFacts): PictureFacts {
  const positive = (key: 'width' | 'height' | 'fps') => {
    if (!(Number.isFinite(facts[key]) && facts[key] > 0)) throw new TypeError(`pictures: facts.${key} must be a positive number, got ${facts[key]}`);
  };
  positive('width');
  positive('height');
  positive('fps');
  if (!Number.isSafeInteger(facts.frameCount) || facts.frameCount < 0) throw new TypeError(`pictures: facts.frameCount must be a non-negative integer, got ${facts.frameCount}`);
  return { width: facts.width, height: facts.height, fps: facts.fps, frameCount: facts.frameCount };
}

const isIndex = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** The frames of a merge result held in memory, checked just enough to draw them; `file` names it in errors. */
function readFrames(merged: unknown, file: string): ReadFrame[] {
  const fail = (problem: string): never => {
    throw new PipelineError('internal', `Cannot draw the pictures of ${file}: ${problem}`);
  };
  const frames = (merged as { frames?: unknown } | null)?.frames;
  if (!Array.isArray(frames)) return fail('it has no frames list');
  const seen = new Set<number>();
  for (const frame of frames as unknown[]) {
    const { index, persons } = (frame ?? {}) as { index?: unknown; persons?: unknown };
    if (!isIndex(index)) return fail(`a frame index is ${JSON.stringify(index)}`);
    if (seen.has(index)) return fail(`frame ${index} appears twice`);
    seen.add(index);
    if (!Array.isArray(persons)) return fail(`frame ${index} has no persons list`);
    for (const person of persons as unknown[]) {
      const track = (person as { track?: unknown } | null)?.track;
      if (!Number.isSafeInteger(track)) return fail(`a person in frame ${index} has track ${JSON.stringify(track)}`);
    }
  }
  return frames as ReadFrame[];
}

/** A person as drawn, or undefined when its box has a missing (null) or non-finite number. */
export function picturePerson(person: ReadPerson): PicturePerson | undefined {
  const b = person.bbox;
  if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v))) return undefined;
  const score = typeof person.score === 'number' && Number.isFinite(person.score) ? person.score : 0;
  return { track: person.track, bbox: [b[0], b[1], b[2], b[3]], score };
}

/**
 * The picture index of frames held in memory (a MergeResult; the merge computes the same while it
 * streams, see merge-worker.ts): the picked frames with their drawable persons (a box with a null
 * number cannot be drawn and is left out; the person still counts for picking and for the
 * timeline) and the shown tracks' runs, computed from the frames themselves.
 */
export function pictureIndex(merged: unknown, file: string): PictureIndex {
  const frames = readFrames(merged, file);
  const byIndex = new Map(frames.map((frame) => [frame.index, frame]));
  const picked = pickFrames(frames, MAX_PICKED).map((index) => ({
    index,
    persons: byIndex.get(index)!.persons.map(picturePerson).filter((p): p is PicturePerson => p !== undefined),
  }));
  return { frames: picked, ...shownTracks(allTrackRuns(frames)) };
}

/** The pictures of a job: its picture index with the facts, each picked frame timed by index / fps. */
export function buildPictures(index: PictureIndex, facts: PictureFacts): Pictures {
  const f = checkFacts(facts);
  const frames = index.frames.map((frame) => ({ index: frame.index, time: frame.index / f.fps, persons: frame.persons }));
  return { ...f, frames, tracks: index.tracks, moreTracks: index.moreTracks };
}

/** A picture index read from a file, checked just enough to draw it; `file` names it in errors. */
export function checkPictureIndex(value: unknown, file: string): PictureIndex {
  const fail = (problem: string): never => {
    throw new PipelineError('internal', `Cannot draw the pictures of ${file}: ${problem}`);
  };
  const index = value as Partial<PictureIndex> | null;
  if (!Array.isArray(index?.frames) || !Array.isArray(index.tracks) || !isIndex(index.moreTracks)) return fail('it has no picture index');
  const seen = new Set<number>();
  for (const frame of index.frames as unknown[]) {
    const { index: at, persons } = (frame ?? {}) as { index?: unknown; persons?: unknown };
    if (!isIndex(at)) return fail(`a picked frame index is ${JSON.stringify(at)}`);
    if (seen.has(at)) return fail(`frame ${at} appears twice`);
    seen.add(at);
    if (!Array.isArray(persons)) return fail(`picked frame ${at} has no persons list`);
    for (const person of persons as unknown[]) {
      const track = (person as { track?: unknown } | null)?.track;
      if (!Number.isSafeInteger(track)) return fail(`a person in frame ${at} has track ${JSON.stringify(track)}`);
      if (picturePerson(person as ReadPerson) === undefined) return fail(`a person in frame ${at} has a box that cannot be drawn`);
    }
  }
  for (const track of index.tracks as unknown[]) {
    const { id, frames, runs } = (track ?? {}) as { id?: unknown; frames?: unknown; runs?: unknown };
    if (!Number.isSafeInteger(id) || !isIndex(frames)) return fail(`a track has id ${JSON.stringify(id)} and ${JSON.stringify(frames)} frames`);
    if (!Array.isArray(runs) || !runs.every((r) => Array.isArray(r) && r.length === 2 && isIndex(r[0]) && isIndex(r[1]))) return fail(`track ${id} has runs that are not frame ranges`);
  }
  return index as PictureIndex;
}
