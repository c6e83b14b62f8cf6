"""A small deep_sort-style tracker with PHALP's Track fields and life cycle, matching on box IoU.

Like PHALP's: ids start at 1 per Tracker; a track is tentative until n_init hits, a tentative
track missed once is deleted, a confirmed one after max_age misses; history is a deque of
track_history detection_data dicts (filled with the first detection at creation); predict()
ages every track (time_since_update += 1), update() resets it for matched tracks.
"""
from collections import deque

import numpy as np

REQUIRED = {"bbox": (4,), "appe": (4096,), "pose": (229,), "loca": (99,), "uv": (4, 256, 256)}


def _check(data):
    for key, shape in REQUIRED.items():
        got = np.shape(data[key])
        assert got == shape, f"detection_data[{key!r}] has shape {got}, PHALP wants {shape}"
    for key in ("conf", "time", "annotations", "smpl", "camera", "3d_joints", "2d_joints", "size"):
        assert key in data, f"detection_data lacks {key!r}"


class Track:
    def __init__(self, cfg, track_id, n_init, max_age, detection_data):
        self.track_id, self.hits, self.age, self.time_since_update = track_id, 1, 1, 0
        self.confirmed, self.deleted = False, False
        self._n_init, self._max_age = n_init, max_age
        self.track_data = {"history": deque([detection_data] * cfg.phalp.track_history,
                                            maxlen=cfg.phalp.track_history), "prediction": {}}

    def predict(self):
        self.age += 1
        self.time_since_update += 1

    def update(self, detection):
        self.track_data["history"].append(detection.detection_data)
        self.hits += 1
        self.time_since_update = 0
        if self.hits >= self._n_init:
            self.confirmed = True

    def mark_missed(self):
        if not self.confirmed or self.time_since_update > self._max_age:
            self.deleted = True

    def is_confirmed(self):
        return self.confirmed and not self.deleted

    def is_tentative(self):
        return not self.confirmed and not self.deleted

    def is_deleted(self):
        return self.deleted


def _iou(a, b):
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter + 1e-9)


class Tracker:
    def __init__(self, cfg, metric=None, max_age=30, n_init=3, phalp_tracker=None, dims=None):
        self.cfg, self.max_age, self.n_init = cfg, max_age, n_init
        self.tracks = []
        self._next_id = 1
        self.updates = []  # (t_, frame_name, number of detections), for tests

    def predict(self):
        for track in self.tracks:
            track.predict()

    def update(self, detections, frame_t, image_name, shot):
        self.updates.append((frame_t, image_name, len(detections)))
        for d in detections:
            _check(d.detection_data)
            assert d.detection_data["time"] == frame_t, "a detection updated at another frame's step"
        unmatched = list(range(len(detections)))
        for track in sorted(self.tracks, key=lambda t: t.track_id):
            last = track.track_data["history"][-1]["bbox"]
            best = max(unmatched, key=lambda i: _iou(last, detections[i].detection_data["bbox"]), default=None)
            if best is not None and _iou(last, detections[best].detection_data["bbox"]) > 0.3:
                track.update(detections[best])
                unmatched.remove(best)
            else:
                track.mark_missed()
        for i in unmatched:
            self.tracks.append(Track(self.cfg, self._next_id, self.n_init, self.max_age, detections[i].detection_data))
            self._next_id += 1
        self.tracks = [t for t in self.tracks if not t.is_deleted()]
