"""A SORT-style tracker (Bewley et al. 2016) in plain numpy: scipy is not available everywhere.

Each track is a constant-velocity Kalman filter on (centre x, centre y, area, aspect ratio);
detections are matched to the tracks with exact Hungarian assignments (see Sort for the passes).
What keeps a person's id through short misses and crossings:

- a second pass (the ByteTrack idea, Zhang et al. 2022): detections too weak to start a track
  (marked `low`) are matched only to the tracks the confident ones left unmatched, so a person
  whose detector margin dips for a few frames keeps their track;
- a track that missed frames is looked for at its prediction and where it was last seen, up to
  `max_age` frames;
- an appearance cue: each track keeps a running average of its boxes' colour histograms, and the
  association cost mixes (1 - IoU) with the Bhattacharyya distance to it, so where two people's
  boxes overlap, each stays with the one who looks like them.

Every step is deterministic: same detections in, same ids and rows out.
"""

from collections import deque
from typing import Deque, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

# The standard SORT model: state (u, v, s, r, du, dv, ds), measurement (u, v, s, r).
_F = np.eye(7)
_F[0, 4] = _F[1, 5] = _F[2, 6] = 1.0
_H = np.eye(4, 7)
_R = np.diag([1.0, 1.0, 10.0, 10.0])
_Q = np.diag([1.0, 1.0, 1.0, 1.0, 0.01, 0.01, 0.0001])
_P0 = np.diag([10.0, 10.0, 10.0, 10.0, 10000.0, 10000.0, 10000.0])
# Cost of a pair that fails the gate: no less than any allowed pair's; such pairs are dropped after
# the assignment. (Not a huge value: that would make the assignment pair as many tracks as it can,
# taking a person's own detection away from them to give another track one.)
_BLOCKED = 1.0
# How much of a track's appearance is kept at each new observation (running average).
APPEARANCE_MOMENTUM = 0.9


def _to_z(box: np.ndarray) -> np.ndarray:
    x, y, w, h = box
    return np.array([x + w / 2.0, y + h / 2.0, w * h, w / max(h, 1e-6)])


def _to_box(state: np.ndarray) -> np.ndarray:
    area, ratio = max(state[2], 1e-6), max(state[3], 1e-6)
    w = np.sqrt(area * ratio)
    h = area / w
    return np.array([state[0] - w / 2.0, state[1] - h / 2.0, w, h])


class _Track:
    def __init__(self, box: np.ndarray, feature: Optional[np.ndarray]) -> None:
        self.restart(box)
        self.hits = 1
        self.misses = 0
        self.id = 0  # assigned once the track is confirmed
        self.feature = feature
        self.rows: List[Tuple[int, np.ndarray, float]] = []

    def predict(self) -> np.ndarray:
        if self.x[6] + self.x[2] <= 0:  # the area must not go negative
            self.x[6] = 0.0
        self.x = _F @ self.x
        self.P = _F @ self.P @ _F.T + _Q
        return _to_box(self.x)

    def restart(self, box: np.ndarray) -> None:
        """Start the motion model afresh at `box` (found again after a gap: its speed is unknown)."""
        self.x = np.zeros(7)
        self.x[:4] = _to_z(box)
        self.P = _P0.copy()

    def update(self, box: np.ndarray) -> None:
        y = _to_z(box) - _H @ self.x
        S = _H @ self.P @ _H.T + _R
        K = self.P @ _H.T @ np.linalg.inv(S)
        self.x = self.x + K @ y
        self.P = (np.eye(7) - K @ _H) @ self.P


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between every box of a (N,4) and b (M,4), boxes as x, y, w, h."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, 0:1], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, 1:2], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return inter / np.maximum(union, 1e-9)


def appearance_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bhattacharyya distance (0 alike .. 1 disjoint) between histograms a (N,K) and b (M,K), each
    row summing to 1."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    overlap = np.sqrt(a) @ np.sqrt(b).T
    return np.sqrt(np.clip(1.0 - overlap, 0.0, 1.0))


def hungarian(cost: np.ndarray) -> List[Tuple[int, int]]:
    """Minimum-cost assignment (rows <= cols after padding), the O(n^3) potentials method."""
    n_rows, n_cols = cost.shape
    n = max(n_rows, n_cols)
    c = np.zeros((n, n))
    c[:n_rows, :n_cols] = cost
    u, v = np.zeros(n + 1), np.zeros(n + 1)
    p = np.zeros(n + 1, dtype=np.int64)  # p[j]: row matched to column j (1-based, 0 = none)
    way = np.zeros(n + 1, dtype=np.int64)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = np.full(n + 1, np.inf)
        used = np.zeros(n + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            delta, j1 = np.inf, 0
            for j in range(1, n + 1):
                if not used[j]:
                    cur = c[i0 - 1, j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(n + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    pairs = [(int(p[j]) - 1, j - 1) for j in range(1, n + 1) if p[j] != 0]
    return sorted((r, col) for r, col in pairs if r < n_rows and col < n_cols)


class Sort:
    """Feed detections frame by frame; rows() returns the confirmed tracks' real observations.

    A track is confirmed after `min_hits` matched frames and then keeps its observations from its
    first frame (back-filled, so a person's first frames are not lost); tracks never confirmed are
    dropped as noise. A track dies after `max_age` consecutive frames without a match.
    `appearance` (0..1) is the weight of the appearance distance in the association cost; 0 (and
    steps without features) match on IoU alone, as SORT does.

    Each frame is associated in passes, each an optimal assignment over what the earlier ones left:
    1. confirmed tracks (their Kalman predictions) with the confident detections;
    2. confirmed tracks still unmatched with the weak detections;
    3. confirmed tracks that missed earlier frames, by their last observed box rather than the
       prediction, which drifts while nothing corrects it (the observation-centric recovery of
       OC-SORT, Cao et al. 2023): a person hidden behind another for a while is found where they
       disappeared, and the appearance cue tells who is who;
    4. tentative tracks with the confident detections left.
    A confident detection left over starts a track, which also takes the unmatched weak detections
    just before it that lead up to it (a person's first, faint frames).
    """

    def __init__(self, iou_threshold: float, max_age: int, min_hits: int, appearance: float = 0.0) -> None:
        self.iou_threshold = iou_threshold
        self.max_age = max_age
        self.min_hits = min_hits
        self.appearance = appearance
        self._live: List[_Track] = []
        self._confirmed: List[_Track] = []
        self._next_id = 1
        # Unmatched weak detections of the last max_age frames: (frame, box, score), newest last.
        self._faint: Deque[List[Tuple[int, np.ndarray, float]]] = deque(maxlen=max(1, max_age))

    def step(self, frame: int, boxes: np.ndarray, scores: np.ndarray,
             low: Optional[np.ndarray] = None, features: Optional[np.ndarray] = None) -> None:
        """One frame's detections: boxes (N,4 x, y, w, h), scores (N,); `low` (N, bool) marks those
        that may only continue a track; `features` (N,K) their appearance histograms."""
        predicted = np.array([t.predict() for t in self._live]).reshape(-1, 4)
        last = np.array([t.rows[-1][1] for t in self._live]).reshape(-1, 4)
        weak = np.zeros(len(boxes), dtype=bool) if low is None else np.asarray(low, dtype=bool)
        confirmed = [ti for ti, t in enumerate(self._live) if t.id != 0]
        tentative = [ti for ti, t in enumerate(self._live) if t.id == 0]
        matched: Dict[int, int] = {}
        recovered: Set[int] = set()

        def free(want_weak: bool) -> List[int]:
            taken = set(matched.values())
            return [d for d in range(len(boxes)) if weak[d] == want_weak and d not in taken]

        matched.update(self._match(confirmed, free(False), predicted, boxes, features))
        unmatched = [ti for ti in confirmed if ti not in matched]
        matched.update(self._match(unmatched, free(True), predicted, boxes, features))
        lost = [ti for ti in confirmed if ti not in matched and self._live[ti].misses > 0]
        found = self._match(lost, free(False), last, boxes, features)
        recovered.update(found)
        matched.update(found)
        matched.update(self._match(tentative, free(False), predicted, boxes, features))

        for ti, di in sorted(matched.items()):
            track = self._live[ti]
            if ti in recovered:
                track.restart(boxes[di])
            else:
                track.update(boxes[di])
            track.hits += 1
            track.misses = 0
            track.rows.append((frame, boxes[di], float(scores[di])))
            if features is not None and not weak[di]:
                track.feature = features[di] if track.feature is None else (
                    APPEARANCE_MOMENTUM * track.feature + (1.0 - APPEARANCE_MOMENTUM) * features[di])
            if track.id == 0 and track.hits >= self.min_hits:
                self._confirm(track)
        for ti, track in enumerate(self._live):
            if ti not in matched:
                track.misses += 1
        self._live = [t for t in self._live if t.misses <= self.max_age]
        for di in free(False):
            track = _Track(boxes[di], None if features is None else features[di])
            self._lead_in(track, boxes[di])
            track.rows.append((frame, boxes[di], float(scores[di])))
            if track.hits >= self.min_hits:
                self._confirm(track)
            self._live.append(track)
        self._faint.append([(frame, boxes[di], float(scores[di])) for di in free(True)])

    def _lead_in(self, track: _Track, box: np.ndarray) -> None:
        """Give a new track the unmatched weak detections that lead up to `box`, newest first, each
        overlapping the one after it by the IoU threshold; they are then used up."""
        for faint in reversed(self._faint):
            if not faint:
                continue
            overlap = iou_matrix(box[None], np.array([b for _, b, _ in faint]))[0]
            best = int(np.argmax(overlap))
            if overlap[best] >= self.iou_threshold:
                track.rows.insert(0, faint.pop(best))
                track.hits += 1
                box = track.rows[0][1]

    def _confirm(self, track: _Track) -> None:
        track.id = self._next_id
        self._next_id += 1
        self._confirmed.append(track)

    def _match(self, tracks: Sequence[int], dets: Sequence[int], reference: np.ndarray, boxes: np.ndarray,
               features: Optional[np.ndarray]) -> Dict[int, int]:
        """Assign detections `dets` to tracks `tracks` (indices into self._live, compared by their
        boxes in `reference`): track -> detection."""
        if not tracks or not dets:
            return {}
        iou = iou_matrix(reference[list(tracks)], boxes[list(dets)])
        cost = 1.0 - iou
        if self.appearance > 0 and features is not None:
            known = [k for k, ti in enumerate(tracks) if self._live[ti].feature is not None]
            if known:
                kept = np.array([self._live[tracks[k]].feature for k in known])
                dist = appearance_distance(kept, features[list(dets)])
                cost[known] = (1.0 - self.appearance) * cost[known] + self.appearance * dist
        allowed = iou >= self.iou_threshold
        cost = np.where(allowed, cost, _BLOCKED)
        return {tracks[r]: dets[c] for r, c in hungarian(cost) if allowed[r, c]}

    def rows(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(frame int32, track int32, bbox float32 (M,4), score float32), sorted by (frame, track)."""
        rows = [(f, t.id, b, s) for t in self._confirmed for (f, b, s) in t.rows]
        rows.sort(key=lambda r: (r[0], r[1]))
        frame = np.array([r[0] for r in rows], dtype=np.int32)
        track = np.array([r[1] for r in rows], dtype=np.int32)
        bbox = np.array([r[2] for r in rows], dtype=np.float32).reshape(-1, 4)
        score = np.array([r[3] for r in rows], dtype=np.float32)
        return frame, track, bbox, score
