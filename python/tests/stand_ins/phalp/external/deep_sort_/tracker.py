"""Stand-in for phalp.external.deep_sort_.tracker: PHALP's Tracker, written from its contract (the
call structure of brjathu/PHALP 96f7e6c), on the CPU and without PHALP's models.

Tracker(cfg, metric, max_age, n_init, phalp_tracker, dims). predict() calls
Track.predict(phalp_tracker) on every track. update(detections, frame_t, image_name, shot):
_match() builds numpy arrays of the detections' appe/loca/pose/uv and asks the metric for a
(tracks, detections) cost (which calls phalp_tracker.get_pose_distance and get_uv_distance), then
linear_assignment.matching_simple; matched tracks take Track.update, the rest mark_missed(); both
groups go through accumulate_vectors, which stacks each track's history (times, loca, pose, xy,
scale, conf) and calls phalp_tracker.forward_for_tracking(..., "P", ...) and (..., "L", ...), whose
CPU tensors go to Track.add_predicted; unmatched detections start tracks (ids from 1); the metric
is refitted (partial_fit) with every live track's prediction[key][-1]. Life cycle as in PHALP: a
track is tentative until n_init hits, deleted if missed while tentative or after max_age misses.
"""
import numpy as np
import torch

from . import linear_assignment
from .track import Track, TrackState  # noqa: F401  (TrackState: the real tracker module has it too)

REQUIRED = {"bbox": (4,), "appe": (4096,), "pose": (229,), "loca": (99,), "uv": (4, 256, 256), "2d_joints": (90,),
            "3d_joints": (45, 3), "camera": (3,), "camera_bbox": (3,), "center": (2,), "size": (2,)}


def _check(data):
    for key, shape in REQUIRED.items():
        got = np.shape(data[key])
        assert got == shape, f"detection_data[{key!r}] has shape {got}, PHALP wants {shape}"
    for key in ("appe", "pose", "loca", "uv"):
        assert isinstance(data[key], np.ndarray), \
            f"detection_data[{key!r}] is {type(data[key]).__name__}: PHALP's matcher wants a numpy array"
        assert data[key].dtype == np.float32, \
            f"detection_data[{key!r}] has dtype {data[key].dtype}: PHALP's get_human_features yields float32"
    for key in ("conf", "time", "annotations", "ground_truth", "smpl", "mask", "xy", "scale"):
        assert key in data, f"detection_data lacks {key!r}"
    assert isinstance(data["time"], (int, np.integer)), f"detection_data['time'] is {type(data['time']).__name__}"
    assert isinstance(data["scale"], float), "scale must have been normalised by Detection()"
    assert np.all(data["uv"][3] ** 2 == 1), "uv mask channel must be -1/1 (HMAR's process_uv_image)"


class Tracker:
    def __init__(self, cfg, metric, max_age=30, n_init=3, phalp_tracker=None, dims=None):
        self.cfg, self.metric, self.max_age, self.n_init = cfg, metric, max_age, n_init
        self.phalp_tracker = phalp_tracker
        if dims is not None:
            self.A_dim, self.P_dim, self.L_dim = dims
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
        matches, unmatched_tracks, unmatched_detections, cost = self._match(detections)
        self.tracked_cost[frame_t] = [cost, matches, unmatched_tracks, unmatched_detections]

        for track_idx, detection_idx in matches:
            self.tracks[track_idx].update(detections[detection_idx], detection_idx, shot)
        self.accumulate_vectors([track_idx for track_idx, _ in matches], features=self.cfg.phalp.predict)
        for track_idx in unmatched_tracks:
            self.tracks[track_idx].mark_missed()
        self.accumulate_vectors(unmatched_tracks, features=self.cfg.phalp.predict)
        for detection_idx in unmatched_detections:
            self._initiate_track(detections[detection_idx], detection_idx)

        self.tracks = [t for t in self.tracks if not t.is_deleted()]
        live = [t for t in self.tracks if t.is_confirmed() or t.is_tentative()]
        latest = {key: np.asarray([t.track_data["prediction"][key][-1] for t in live])
                  for key in ("appe", "loca", "pose", "uv")}
        self.metric.partial_fit(latest["appe"], latest["loca"], latest["pose"], latest["uv"],
                                np.asarray([t.track_id for t in live]), [t.track_id for t in live])
        return matches

    def _match(self, detections):
        def gated_metric(tracks, dets, track_indices, detection_indices):
            features = [np.array([dets[i].detection_data[key] for i in detection_indices])
                        for key in ("appe", "loca", "pose", "uv")]
            targets = np.array([tracks[i].track_id for i in track_indices])
            return self.metric.distance(features, targets, dims=[self.A_dim, self.P_dim, self.L_dim],
                                        phalp_tracker=self.phalp_tracker)

        live = [i for i, t in enumerate(self.tracks) if t.is_confirmed() or t.is_tentative()]
        return linear_assignment.matching_simple(gated_metric, self.metric.matching_threshold, self.max_age,
                                                 self.tracks, detections, live)

    def _initiate_track(self, detection, detection_id):
        track = Track(self.cfg, self._next_id, self.n_init, self.max_age, detection_data=detection.detection_data,
                      detection_id=detection_id, dims=[self.A_dim, self.P_dim, self.L_dim])
        track.add_predicted()
        self.tracks.append(track)
        self._next_id += 1

    def accumulate_vectors(self, track_ids, features="APL"):
        """Stack the tracks' histories and ask the PHALP object for their next pose ("P") and location ("L")."""
        if len(track_ids) == 0:
            return
        tracks = [self.tracks[i] for i in track_ids]
        histories = [list(t.track_data["history"])[-self.cfg.phalp.track_history:] for t in tracks]
        times = np.array([[data["time"] for data in h] for h in histories])
        since_update = np.array([t.time_since_update for t in tracks])
        pose_pred = loca_pred = None
        with torch.no_grad():
            if "P" in features:
                poses = np.array([[data["pose"] for data in h] for h in histories])
                pose_data = np.array([[[data["xy"][0], data["xy"][1], data["scale"], data["scale"], data["time"], t.track_id]
                                       for data in h] for t, h in zip(tracks, histories)])
                pose_pred = self.phalp_tracker.forward_for_tracking([poses, pose_data, times], "P", since_update)
            if "L" in features:
                locas = np.array([[data["loca"] for data in h] for h in histories])
                confidence = np.array([[data["conf"] for data in h] for h in histories])
                loca_pred = self.phalp_tracker.forward_for_tracking([locas, times, confidence], "L", since_update)
        for k, track in enumerate(tracks):
            track.add_predicted(pose=None if pose_pred is None else pose_pred[k],
                                loca=None if loca_pred is None else loca_pred[k])
