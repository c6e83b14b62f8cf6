import { PipelineError } from '../errors.ts';
import { pickFrames } from './pick-frames.ts';
import { MAX_PICKED, type PicturePerson, type Pictures } from './pictures.ts';
import { allTrackRuns, shownTracks } from './track-runs.ts';

/** The source facts the pictures need (the caller has them from the probe stage). */
export interface PictureFacts {
  width: number;
  height: number;
  fps: number;
  frameCount: number;
}

/** A person of merged.json as read: bbox and score may be null (NaN in the tracker's output). */
interface ReadPerson {
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

/** The frames of a parsed merged.json, checked just enough to draw them; `file` names it in errors. */
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
function picturePerson(person: ReadPerson): PicturePerson | undefined {
  const b = person.bbox;
  if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v))) return undefined;
  const score = typeof person.score === 'number' && Number.isFinite(person.score) ? person.score : 0;
  return { track: person.track, bbox: [b[0], b[1], b[2], b[3]], score };
}

/**
 * The pictures of a parsed merged.json (see MergeResult): the picked frames with their drawable
 * persons (a box with a null number cannot be drawn and is left out; the person still counts for
 * picking and for the timeline) and the shown tracks' runs, computed from the frames themselves.
 */
export function buildPictures(merged: unknown, facts: PictureFacts, file: string): Pictures {
  const f = checkFacts(facts);
  const frames = readFrames(merged, file);
  const byIndex = new Map(frames.map((frame) => [frame.index, frame]));
  const picked = pickFrames(frames, MAX_PICKED).map((index) => ({
    index,
    time: index / f.fps,
    persons: byIndex.get(index)!.persons.map(picturePerson).filter((p): p is PicturePerson => p !== undefined),
  }));
  const { tracks, moreTracks } = shownTracks(allTrackRuns(frames));
  return { ...f, frames: picked, tracks, moreTracks };
}
