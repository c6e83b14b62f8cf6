/**
 * Which frames the thumbnail strip shows: up to `max`, evenly spaced over the frames where someone
 * was tracked (over all frames when nobody was), so the strip shows tracking rather than empty
 * scenery. Each pick is the middle of one of `max` equal slices of those frames, so the same
 * frames always give the same picks. `frames` are a merge's frames 0..N-1, in any order; the
 * picks are those the merge makes while it streams (pickFlagged). Returns frame indices in
 * ascending order.
 */
export function pickFrames(frames: ReadonlyArray<{ index: number; persons: readonly unknown[] }>, max: number): number[] {
  const withPeople = new Uint8Array(frames.length);
  for (const frame of frames) if (frame.persons.length > 0) withPeople[frame.index] = 1;
  return pickFlagged(withPeople, max);
}

/** The positions pickFrames takes from a pool of `size` frames: all of them, or the middles of `max` equal slices. */
export function pickPositions(size: number, max: number): number[] {
  if (size <= max) return Array.from({ length: size }, (_, k) => k);
  return Array.from({ length: max }, (_, i) => Math.floor(((2 * i + 1) * size) / (2 * max)));
}

/** The picks over a video given as one flag per frame (1: someone was tracked there), as the merge has it without holding the frames. */
export function pickFlagged(withPeople: Uint8Array, max: number): number[] {
  let count = 0;
  for (const flag of withPeople) count += flag;
  if (count === 0) return pickPositions(withPeople.length, max);
  const positions = pickPositions(count, max);
  const picked: number[] = [];
  for (let index = 0, k = 0; index < withPeople.length && picked.length < positions.length; index++) {
    if (!withPeople[index]) continue;
    if (k === positions[picked.length]) picked.push(index);
    k++;
  }
  return picked;
}
