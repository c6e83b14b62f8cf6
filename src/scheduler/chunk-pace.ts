/**
 * A slot's pace on the chunk it tracks, from its progress reports: frames per second since the
 * frame count first moved. A tracker may report the same frame for a while first (seeking to the
 * chunk's start, loading a batch), and a remote worker downloads its inputs before its first
 * report: neither is tracking, so neither lowers the rate, and there is no rate (null) until then.
 */
export class ChunkPace {
  /** The last report before the frame count moved: where the rate is measured from. */
  #base: { frames: number; ms: number } | undefined;
  #moved = false;

  /** Take a report of `frames` tracked at `ms`; the rate so far (frames/s, one decimal), or null before one can be told. */
  report(frames: number, ms: number): number | null {
    if (!this.#base || (!this.#moved && frames <= this.#base.frames)) {
      this.#base = { frames: Math.max(frames, this.#base?.frames ?? 0), ms };
      return null;
    }
    this.#moved = true;
    const elapsed = ms - this.#base.ms;
    if (elapsed <= 0) return null;
    return Math.round(((frames - this.#base.frames) * 10_000) / elapsed) / 10;
  }
}
