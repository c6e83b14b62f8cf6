/**
 * Chunks are stored and sent by a 0-based index (the database's idx, the JSON's `index`, URLs);
 * people read and type a 1-based number: chunk 1 of 3 is index 0. Every text a person sees names a
 * chunk through chunkNumber, so the two never mix on one screen.
 */

/** The number people see for the chunk at `idx`. */
export function chunkNumber(idx: number): number {
  return idx + 1;
}
