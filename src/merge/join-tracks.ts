/**
 * Matching the tracks of two neighbouring chunks by how often their boxes agree in the frames
 * both chunks tracked (the overlap).
 */

/** One observation in an overlap frame: a chunk-local track and its x, y, w, h box. */
export interface OverlapBox {
  frame: number;
  track: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Intersection over union of two x, y, w, h boxes; 0 when either is empty. */
export function iou(a: OverlapBox, b: OverlapBox): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/** A candidate pair: earlier track, later track, frames where their boxes agree, summed IoU. */
interface Vote {
  earlier: number;
  later: number;
  votes: number;
  iouSum: number;
}

function groupByFrame(boxes: readonly OverlapBox[]): Map<number, OverlapBox[]> {
  const byFrame = new Map<number, OverlapBox[]>();
  for (const box of boxes) {
    const list = byFrame.get(box.frame);
    if (list === undefined) byFrame.set(box.frame, [box]);
    else list.push(box);
  }
  return byFrame;
}

/**
 * Pair earlier-chunk tracks with later-chunk tracks: count the overlap frames where both have a
 * box with IoU >= threshold, then take pairs greedily by votes (ties: higher summed IoU, then
 * lower earlier id, then lower later id), each track at most once; then let a pair give way to
 * two that agree in more frames in all (see giveWay). Returns later -> earlier.
 */
export function joinTracks(earlier: readonly OverlapBox[], later: readonly OverlapBox[], threshold: number): Map<number, number> {
  const earlierByFrame = groupByFrame(earlier);
  const tally = new Map<string, Vote>();
  for (const [frame, laterBoxes] of groupByFrame(later)) {
    const earlierBoxes = earlierByFrame.get(frame);
    if (earlierBoxes === undefined) continue;
    for (const a of earlierBoxes) {
      for (const b of laterBoxes) {
        const overlap = iou(a, b);
        if (overlap < threshold) continue;
        const key = `${a.track}:${b.track}`;
        const vote = tally.get(key) ?? { earlier: a.track, later: b.track, votes: 0, iouSum: 0 };
        vote.votes += 1;
        vote.iouSum += overlap;
        tally.set(key, vote);
      }
    }
  }
  const ranked = [...tally.values()].sort(
    (p, q) => q.votes - p.votes || q.iouSum - p.iouSum || p.earlier - q.earlier || p.later - q.later,
  );
  const laterToEarlier = new Map<number, number>();
  const takenEarlier = new Set<number>();
  for (const { earlier: a, later: b } of ranked) {
    if (takenEarlier.has(a) || laterToEarlier.has(b)) continue;
    takenEarlier.add(a);
    laterToEarlier.set(b, a);
  }
  while (giveWay(ranked, laterToEarlier));
  return laterToEarlier;
}

/**
 * Where two people share one box early in the overlap (one detection over both), the later
 * chunk's fresh tracker may follow the wrong one when they part: later B shares the box with
 * earlier A, then follows earlier A2's person, while A's person goes on as a new later B2. Greedy
 * voting pairs A with B (the shared frames) and leaves A2 and B2 unjoined. So a joined (A, B)
 * gives way to (A, B2) and (A2, B), both otherwise unjoined, when those agree in more frames in
 * all: each person keeps their id from where the two are told apart. Makes the first such swap
 * (pairs by earlier id; the most votes, then summed IoU, then the first in `ranked`) and says
 * whether it made one; each swap raises the total of votes, so repeating it ends.
 */
function giveWay(ranked: readonly Vote[], laterToEarlier: Map<number, number>): boolean {
  const joinedEarlier = new Set(laterToEarlier.values());
  const pairs = [...laterToEarlier].map(([b, a]) => ({ a, b })).sort((p, q) => p.a - q.a || p.b - q.b);
  for (const { a, b } of pairs) {
    const kept = ranked.find((v) => v.earlier === a && v.later === b)!;
    let best: { a2: number; b2: number; votes: number; iouSum: number } | undefined;
    for (const toB2 of ranked) {
      if (toB2.earlier !== a || laterToEarlier.has(toB2.later)) continue;
      for (const toA2 of ranked) {
        if (toA2.later !== b || joinedEarlier.has(toA2.earlier)) continue;
        const votes = toB2.votes + toA2.votes;
        const iouSum = toB2.iouSum + toA2.iouSum;
        if (best === undefined || votes > best.votes || (votes === best.votes && iouSum > best.iouSum)) {
          best = { a2: toA2.earlier, b2: toB2.later, votes, iouSum };
        }
      }
    }
    if (best !== undefined && best.votes > kept.votes) {
      laterToEarlier.set(best.b2, a);
      laterToEarlier.set(b, best.a2);
      return true;
    }
  }
  return false;
}
