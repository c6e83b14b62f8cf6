/** One video packet as the demuxer hands it over, in decode order. */
export interface Packet {
  /** Presentation timestamp in the stream's time base; null when the container has none. */
  pts: number | null;
  keyframe: boolean;
  /** Marked to be dropped after decoding (edit lists): such a frame is never shown. */
  discard: boolean;
}

/**
 * Packet indexes where a stream copy can start a chunk: keyframes that are shown before every
 * later packet and after every earlier one. At such a packet the packets before it are exactly
 * the frames shown before it, so its packet index is its frame index; an open-GOP keyframe, whose
 * leading B-frames follow it in decode order but are shown before it (and need the previous GOP),
 * is not one. Returns null when the stream cannot be cut by copying at all: no packets, a first
 * packet that is not such a keyframe, a missing timestamp, or a packet that is decoded but not shown.
 */
export function cleanCutPoints(packets: readonly Packet[]): number[] | null {
  const n = packets.length;
  if (n === 0) return null;
  const pts: number[] = [];
  for (const p of packets) {
    if (p.pts === null || p.discard) return null;
    pts.push(p.pts);
  }
  // suffixMin[i] = smallest pts of packets i..n-1.
  const suffixMin = new Array<number>(n + 1).fill(Infinity);
  for (let i = n - 1; i >= 0; i -= 1) suffixMin[i] = Math.min(pts[i]!, suffixMin[i + 1]!);
  const points: number[] = [];
  let prefixMax = -Infinity;
  for (let i = 0; i < n; i += 1) {
    if (packets[i]!.keyframe && prefixMax < pts[i]! && pts[i]! < suffixMin[i + 1]!) points.push(i);
    prefixMax = Math.max(prefixMax, pts[i]!);
  }
  return points[0] === 0 ? points : null;
}

/** A chunk may hold at most this many times the target: GPU memory is bounded by chunk length. */
export const MAX_CHUNK_RATIO = 1.5;

/**
 * Frame counts of chunks that start at cut points, aiming at `framesPerChunk` each. Greedy, from
 * the previous cut: the last point within (½, 1] x target, else the first one after the target.
 * Null when some chunk would exceed MAX_CHUNK_RATIO x target (sparse keyframes: re-encode instead).
 */
export function planChunks(totalFrames: number, cutPoints: readonly number[], framesPerChunk: number): number[] | null {
  const max = Math.floor(MAX_CHUNK_RATIO * framesPerChunk);
  const counts: number[] = [];
  let start = 0;
  let next = 0; // index into cutPoints of the first point after `start`
  while (totalFrames - start > framesPerChunk) {
    while (next < cutPoints.length && cutPoints[next]! <= start) next += 1;
    let i = next;
    let cut: number | undefined;
    for (; i < cutPoints.length && cutPoints[i]! <= start + framesPerChunk; i += 1) {
      if (cutPoints[i]! > start + framesPerChunk / 2) cut = cutPoints[i];
    }
    if (cut === undefined && i < cutPoints.length && cutPoints[i]! < totalFrames) cut = cutPoints[i];
    if (cut === undefined || cut - start > max) {
      if (totalFrames - start <= max) break;
      return null;
    }
    counts.push(cut - start);
    start = cut;
  }
  counts.push(totalFrames - start);
  return counts;
}
