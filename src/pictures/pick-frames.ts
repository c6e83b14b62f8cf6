/**
 * Which frames the thumbnail strip shows: up to `max`, evenly spaced over the frames where someone
 * was tracked (over all frames when nobody was), so the strip shows tracking rather than empty
 * scenery. Each pick is the middle of one of `max` equal slices of those frames, so the same
 * frames always give the same picks. Returns frame indices in ascending order.
 */
export function pickFrames(frames: ReadonlyArray<{ index: number; persons: readonly unknown[] }>, max: number): number[] {
  const withPeople = frames.filter((frame) => frame.persons.length > 0);
  const pool = (withPeople.length > 0 ? withPeople : frames).map((frame) => frame.index).sort((a, b) => a - b);
  if (pool.length <= max) return pool;
  return Array.from({ length: max }, (_, i) => pool[Math.floor(((2 * i + 1) * pool.length) / (2 * max))]!);
}
