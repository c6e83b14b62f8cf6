"""Stand-in for phalp.external.deep_sort_.track: PHALP's Track, written from its contract.

Track(cfg, track_id, n_init, max_age, detection_data, detection_id=None, dims=None). track_data is
{"history": deque of cfg.phalp.track_history detection_data dicts (filled with the first one),
"prediction": {"appe", "loca", "pose", "uv": deques of at most cfg.phalp.n_init + 1 arrays}}; the
tracker reads prediction[key][-1] for the metric. add_predicted(appe, pose, loca, uv) takes the
CPU torch tensors forward_for_tracking returned (the real one calls .numpy() on them; uv is
ignored), or None for "repeat the last observation". update() with "T" in cfg.phalp.predict blends
the predicted texture map with the new detection's (4, 256, 256) uv where both masks are on
(weight cfg.phalp.alpha * conf ** 2), keeps each one's texels elsewhere, mask channel -1/1, float64.
"""
import copy
from collections import deque

import numpy as np
import torch

PREDICTED_SHAPES = {"appe": (4096,), "loca": (99,), "pose": (229,)}


class TrackState:
    Tentative, Confirmed, Deleted = 1, 2, 3


class Track:
    def __init__(self, cfg, track_id, n_init, max_age, detection_data, detection_id=None, dims=None):
        self.cfg, self.track_id = cfg, track_id
        self.hits, self.age, self.time_since_update = 1, 1, 0
        self.time_init = detection_data["time"]
        self.state = TrackState.Tentative
        self._n_init, self._max_age = n_init, max_age
        if dims is not None:
            self.A_dim, self.P_dim, self.L_dim = dims
        history = cfg.phalp.track_history
        keep = cfg.phalp.n_init + 1
        self.track_data = {"history": deque([detection_data] * history, maxlen=history), "prediction": {}}
        for key in ("appe", "loca", "pose"):
            self.track_data["prediction"][key] = deque([detection_data[key]], maxlen=keep)
        self.track_data["prediction"]["uv"] = deque([copy.deepcopy(detection_data["uv"])], maxlen=keep)
        if len(detection_data["annotations"]) > 0:
            self.state = TrackState.Confirmed

    def predict(self, phalp_tracker, increase_age=True):
        if increase_age:
            self.age += 1
            self.time_since_update += 1

    def add_predicted(self, appe=None, pose=None, loca=None, uv=None):
        for key, value in (("appe", appe), ("loca", loca), ("pose", pose)):
            if value is None:
                value = copy.deepcopy(self.track_data["history"][-1][key])
            else:
                assert isinstance(value, torch.Tensor), \
                    f"add_predicted({key}=...) got {type(value).__name__}: PHALP calls .numpy() on a torch tensor"
                assert value.device.type == "cpu", f"add_predicted({key}=...) on {value.device}: .numpy() needs the CPU"
                assert tuple(value.shape) == PREDICTED_SHAPES[key], \
                    f"predicted {key} has shape {tuple(value.shape)}, PHALP keeps {PREDICTED_SHAPES[key]}"
                value = value.numpy().copy()
            self.track_data["prediction"][key].append(value)

    def update(self, detection, detection_id, shot):
        data = detection.detection_data
        history = self.track_data["history"]
        history.append(copy.deepcopy(data))
        if shot == 1:  # a shot change: the whole history takes the new location
            for back in range(1, len(history) + 1):
                history[-back] = dict(history[-back], loca=copy.deepcopy(data["loca"]))
        if "T" in self.cfg.phalp.predict:
            self.track_data["prediction"]["uv"].append(self._blend(self.track_data["prediction"]["uv"][-1],
                                                                   history[-1]["uv"], data["conf"]))
        else:
            self.track_data["prediction"]["uv"].append(history[-1]["uv"])
        self.hits += 1
        self.time_since_update = 0
        if self.state == TrackState.Tentative and self.hits >= self._n_init:
            self.state = TrackState.Confirmed
        if len(data["annotations"]) > 0:
            self.state = TrackState.Confirmed

    def _blend(self, old, new, conf):
        assert np.shape(old) == (4, 256, 256) and np.shape(new) == (4, 256, 256), \
            f"uv maps {np.shape(old)} / {np.shape(new)}, PHALP's texture update wants (4, 256, 256)"
        weight = self.cfg.phalp.alpha * float(conf) ** 2
        on_old, on_new = old[3] == 1, new[3] == 1
        both = on_old & on_new
        rgb = np.zeros((3, 256, 256))
        rgb[:, on_old & ~both] = old[:3][:, on_old & ~both]
        rgb[:, on_new & ~both] = new[:3][:, on_new & ~both]
        rgb[:, both] = (1 - weight) * old[:3][:, both] + weight * new[:3][:, both]
        mask = np.where(on_old | on_new, 1.0, -1.0)[None]
        return np.concatenate([rgb, mask], 0)

    def mark_missed(self):
        if self.state == TrackState.Tentative or self.time_since_update > self._max_age:
            self.state = TrackState.Deleted

    def is_tentative(self):
        return self.state == TrackState.Tentative

    def is_confirmed(self):
        return self.state == TrackState.Confirmed

    def is_deleted(self):
        return self.state == TrackState.Deleted
