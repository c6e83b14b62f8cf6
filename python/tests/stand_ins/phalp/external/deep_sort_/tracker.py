"""A small deep_sort-style tracker with PHALP's Tracker/Track surface and life cycle, matching on
box IoU instead of PHALP's appearance/pose/location cost.

As in phalp/external/deep_sort_ (tracker.py, track.py): Tracker(cfg, metric, max_age, n_init,
phalp_tracker, dims); predict() ages every track (time_since_update += 1); update(detections,
frame_t, image_name, shot) calls Track.update(detection, detection_id, shot) for matches,
mark_missed() for the rest and starts a track (ids from 1) per unmatched detection. A track is
tentative until n_init hits (or at once when its detection has annotations), a tentative track
missed once is deleted, a confirmed one after more than max_age misses; history is a deque of
track_history detection_data dicts, filled with the first detection at creation.
"""
import copy
from collections import deque

import numpy as np

REQUIRED = {"bbox": (4,), "appe": (4096,), "pose": (229,), "loca": (99,), "uv": (4, 256, 256), "2d_joints": (90,),
            "3d_joints": (45, 3), "camera": (3,), "camera_bbox": (3,), "center": (2,), "size": (2,)}


def _check(data):
    for key, shape in REQUIRED.items():
        got = np.shape(data[key])
        assert got == shape, f"detection_data[{key!r}] has shape {got}, PHALP wants {shape}"
    for key in ("conf", "time", "annotations", "ground_truth", "smpl", "mask", "xy", "scale"):
        assert key in data, f"detection_data lacks {key!r}"
    assert isinstance(data["scale"], float), "scale must have been normalised by Detection()"
    assert np.all(data["uv"][3] ** 2 == 1), "uv mask channel must be -1/1 (HMAR's process_uv_image)"


class TrackState:
    Tentative, Confirmed, Deleted = 1, 2, 3


class Track:
    def __init__(self, cfg, track_id, n_init, max_age, detection_data, detection_id=None, dims=None):
        self.cfg, self.track_id = cfg, track_id
        self.hits, self.age, self.time_since_update = 1, 1, 0
        self.time_init = detection_data["time"]
        self.state = TrackState.Tentative
        self._n_init, self._max_age = n_init, max_age
        self.track_data = {"history": deque([detection_data] * cfg.phalp.track_history,
                                            maxlen=cfg.phalp.track_history), "prediction": {}}
        if len(detection_data["annotations"]) > 0:
            self.state = TrackState.Confirmed

    def predict(self, phalp_tracker, increase_age=True):
        if increase_age:
            self.age += 1
            self.time_since_update += 1

    def update(self, detection, detection_id, shot):
        self.track_data["history"].append(copy.deepcopy(detection.detection_data))
        self.hits += 1
        self.time_since_update = 0
        if self.state == TrackState.Tentative and self.hits >= self._n_init:
            self.state = TrackState.Confirmed
        if len(detection.detection_data["annotations"]) > 0:
            self.state = TrackState.Confirmed

    def mark_missed(self):
        if self.state == TrackState.Tentative or self.time_since_update > self._max_age:
            self.state = TrackState.Deleted

    def is_tentative(self):
        return self.state == TrackState.Tentative

    def is_confirmed(self):
        return self.state == TrackState.Confirmed

    def is_deleted(self):
        return self.state == TrackState.Deleted


def _iou(a, b):
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter + 1e-9)


class Tracker:
    def __init__(self, cfg, metric, max_age=30, n_init=3, phalp_tracker=None, dims=None):
        self.cfg, self.metric, self.max_age, self.n_init = cfg, metric, max_age, n_init
        self.phalp_tracker = phalp_tracker
        self.tracks = []
        self._next_id = 1
        self.tracked_cost = {}
        self.updates = []  # (frame_t, image_name, number of detections), for tests
        self.received = {}  # frame_t -> the detection_data dicts handed over, for tests

    def predict(self):
        for track in self.tracks:
            track.predict(self.phalp_tracker, increase_age=True)

    def update(self, detections, frame_t, image_name, shot):
        self.updates.append((frame_t, image_name, len(detections)))
        self.received[frame_t] = [d.detection_data for d in detections]
        for d in detections:
            _check(d.detection_data)
            assert d.detection_data["time"] == frame_t, "a detection updated at another frame's step"
        unmatched = list(range(len(detections)))
        matches = []
        for index, track in enumerate(self.tracks):
            last = track.track_data["history"][-1]["bbox"]
            best = max(unmatched, key=lambda i: _iou(last, detections[i].detection_data["bbox"]), default=None)
            if best is not None and _iou(last, detections[best].detection_data["bbox"]) > 0.3:
                track.update(detections[best], best, shot)
                unmatched.remove(best)
                matches.append((index, best))
            else:
                track.mark_missed()
        for i in unmatched:
            self.tracks.append(Track(self.cfg, self._next_id, self.n_init, self.max_age, detections[i].detection_data, i))
            self._next_id += 1
        self.tracks = [t for t in self.tracks if not t.is_deleted()]
        self.tracked_cost[frame_t] = matches
        return matches
