"""A SORT-style tracker (Bewley et al. 2016) in plain numpy: scipy is not available everywhere.

Each track is a constant-velocity Kalman filter on (centre x, centre y, area, aspect ratio);
detections are matched to the tracks' predictions by IoU with an exact Hungarian assignment.
Every step is deterministic: same detections in, same ids and rows out.
"""

from typing import List, Tuple

import numpy as np

# The standard SORT model: state (u, v, s, r, du, dv, ds), measurement (u, v, s, r).
_F = np.eye(7)
_F[0, 4] = _F[1, 5] = _F[2, 6] = 1.0
_H = np.eye(4, 7)
_R = np.diag([1.0, 1.0, 10.0, 10.0])
_Q = np.diag([1.0, 1.0, 1.0, 1.0, 0.01, 0.01, 0.0001])
_P0 = np.diag([10.0, 10.0, 10.0, 10.0, 10000.0, 10000.0, 10000.0])


def _to_z(box: np.ndarray) -> np.ndarray:
    x, y, w, h = box
    return np.array([x + w / 2.0, y + h / 2.0, w * h, w / max(h, 1e-6)])


def _to_box(state: np.ndarray) -> np.ndarray:
    area, ratio = max(state[2], 1e-6), max(state[3], 1e-6)
    w = np.sqrt(area * ratio)
    h = area / w
    return np.array([state[0] - w / 2.0, state[1] - h / 2.0, w, h])


class _Track:
    def __init__(self, box: np.ndarray) -> None:
        self.x = np.zeros(7)
        self.x[:4] = _to_z(box)
        self.P = _P0.copy()
        self.hits = 1
        self.misses = 0
        self.id = 0  # assigned once the track is confirmed
        self.rows: List[Tuple[int, np.ndarray, float]] = []

    def predict(self) -> np.ndarray:
        if self.x[6] + self.x[2] <= 0:  # the area must not go negative
            self.x[6] = 0.0
        self.x = _F @ self.x
        self.P = _F @ self.P @ _F.T + _Q
        return _to_box(self.x)

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
    """

    def __init__(self, iou_threshold: float, max_age: int, min_hits: int) -> None:
        self.iou_threshold = iou_threshold
        self.max_age = max_age
        self.min_hits = min_hits
        self._live: List[_Track] = []
        self._confirmed: List[_Track] = []
        self._next_id = 1

    def step(self, frame: int, boxes: np.ndarray, scores: np.ndarray) -> None:
        predicted = np.array([t.predict() for t in self._live]).reshape(-1, 4)
        matched_tracks, matched_dets = set(), set()
        if len(predicted) and len(boxes):
            iou = iou_matrix(predicted, boxes)
            for ti, di in hungarian(1.0 - iou):
                if iou[ti, di] >= self.iou_threshold:
                    track = self._live[ti]
                    track.update(boxes[di])
                    track.hits += 1
                    track.misses = 0
                    track.rows.append((frame, boxes[di], float(scores[di])))
                    matched_tracks.add(ti)
                    matched_dets.add(di)
        for ti, track in enumerate(self._live):
            if ti not in matched_tracks:
                track.misses += 1
            elif track.id == 0 and track.hits >= self.min_hits:
                track.id = self._next_id
                self._next_id += 1
                self._confirmed.append(track)
        self._live = [t for t in self._live if t.misses <= self.max_age]
        for di in range(len(boxes)):
            if di not in matched_dets:
                track = _Track(boxes[di])
                track.rows.append((frame, boxes[di], float(scores[di])))
                if self.min_hits <= 1:
                    track.id = self._next_id
                    self._next_id += 1
                    self._confirmed.append(track)
                self._live.append(track)

    def rows(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(frame int32, track int32, bbox float32 (M,4), score float32), sorted by (frame, track)."""
        rows = [(f, t.id, b, s) for t in self._confirmed for (f, b, s) in t.rows]
        rows.sort(key=lambda r: (r[0], r[1]))
        frame = np.array([r[0] for r in rows], dtype=np.int32)
        track = np.array([r[1] for r in rows], dtype=np.int32)
        bbox = np.array([r[2] for r in rows], dtype=np.float32).reshape(-1, 4)
        score = np.array([r[3] for r in rows], dtype=np.float32)
        return frame, track, bbox, score
