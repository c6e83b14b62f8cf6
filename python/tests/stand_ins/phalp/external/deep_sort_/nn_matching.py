"""Stand-in for phalp.external.deep_sort_.nn_matching, from its contract: the metric PHALP's
Tracker matches with, calling back into the PHALP object (phalp_tracker) as the real one does.

NearestNeighborDistanceMetric(cfg, matching_threshold, budget=None):
- partial_fit(appe (N, 4096), loca (N, 99), pose (N, 229), uv (N, 4, 256, 256), targets (N,),
  active_targets list): numpy arrays built from each live track's prediction[key][-1]; keeps the
  last `budget` samples per target and forgets targets not in active_targets.
- distance([appe (M, 4096), loca (M, 99), pose (M, 229), uv (M, 4, 256, 256)], targets, dims,
  phalp_tracker) -> (len(targets), M): per target, the smallest cost over its samples.

The cost reads what the real one reads: phalp_tracker.get_pose_distance(track poses (n, 229),
detection poses (M, 229)) -> (n, M); the location of joint 44 (loca[:90] as (45, 2)) and the depth
loca[90:].reshape(3, 3)[0, 2]; with "T" in cfg.phalp.predict, phalp_tracker.get_uv_distance(track uv
(4, 256, 256), detection uv (4, 256, 256)) -> (embedding, embedding, overlap) for every pair, else
with "A" the appearance vectors. The combination is the stand-in's own, simple one: texture, pose
(capped) and depth ratio as factors, and exp(distance of joint 44 / LOCATION_SCALE), so two people
a quarter of the frame apart cost far more than cfg.phalp.hungarian_th.
"""
import copy

import numpy as np

FEATURES = (("appe", (4096,)), ("loca", (99,)), ("pose", (229,)), ("uv", (4, 256, 256)))
LOCATION_SCALE = 0.05  # joint 44 is normalised to the padded square (0..1)
POSE_CAP = 1.5


def _check(what, arrays, count):
    for (name, shape), array in zip(FEATURES, arrays):
        assert isinstance(array, np.ndarray), f"{what}: {name} is {type(array).__name__}, PHALP builds numpy arrays"
        if count == 0:
            continue  # np.asarray([]): no live tracks
        assert array.shape == (count,) + shape, f"{what}: {name} has shape {array.shape}, wants {(count,) + shape}"
        assert array.dtype in (np.float32, np.float64), f"{what}: {name} has dtype {array.dtype}"


def _pairwise(cfg, samples, detection_features, dims, phalp_tracker):
    track_appe, track_loca, track_pose, track_uv = (np.asarray([s[k] for s in samples]) for k in range(4))
    detect_appe, detect_loca, detect_pose, detect_uv = (copy.deepcopy(np.asarray(f)) for f in detection_features)
    n, m = len(samples), len(detect_appe)

    pose = np.asarray(phalp_tracker.get_pose_distance(track_pose, detect_pose))
    assert pose.shape == (n, m), f"get_pose_distance returned {pose.shape}, wants {(n, m)}"

    track_xy = track_loca[:, :-9].reshape(n, 45, 2)[:, 44]
    detect_xy = detect_loca[:, :-9].reshape(m, 45, 2)[:, 44]
    location = np.sqrt(((track_xy[:, None, :] - detect_xy[None, :, :]) ** 2).sum(-1))
    track_depth = track_loca[:, -9:].reshape(n, 3, 3)[:, 0, 2]
    detect_depth = detect_loca[:, -9:].reshape(m, 3, 3)[:, 0, 2]
    depth = np.abs(np.log(track_depth[:, None] / detect_depth[None, :]))

    texture = np.zeros((n, m))
    if "T" in cfg.phalp.predict:
        for i in range(n):
            for j in range(m):
                track_emb, detect_emb, overlap = phalp_tracker.get_uv_distance(copy.deepcopy(track_uv[i]),
                                                                               copy.deepcopy(detect_uv[j]))
                texture[i, j] = np.sum((track_emb - detect_emb) ** 2) * 100
    elif "A" in cfg.phalp.predict:
        diff = track_appe[:, None, :] / 1e3 - detect_appe[None, :, :] / 1e3
        texture = (diff ** 2).sum(-1)
    cost = ((1 + texture) * (1 + np.minimum(pose, POSE_CAP)) * np.exp(np.minimum(location / LOCATION_SCALE, 50))
            * np.exp(np.minimum(depth, 50)))
    return np.nan_to_num(cost)


class NearestNeighborDistanceMetric:
    def __init__(self, cfg, matching_threshold, budget=None):
        self.cfg, self.matching_threshold, self.budget = cfg, matching_threshold, budget
        self.samples = {}

    def partial_fit(self, appe_features, loca_features, pose_features, uv_maps, targets, active_targets):
        _check("partial_fit", (appe_features, loca_features, pose_features, uv_maps), len(targets))
        for appe, loca, pose, uv, target in zip(appe_features, loca_features, pose_features, uv_maps, targets):
            self.samples.setdefault(target, []).append([appe, loca, pose, uv])
            if self.budget is not None:
                self.samples[target] = self.samples[target][-self.budget:]
        self.samples = {k: self.samples[k] for k in active_targets}

    def distance(self, detection_features, targets, dims=None, phalp_tracker=None):
        assert phalp_tracker is not None, "the metric calls back into the PHALP object"
        assert len(detection_features) == 4, "[appe, loca, pose, uv]"
        _check("distance", detection_features, len(detection_features[0]))
        cost = np.zeros((len(targets), len(detection_features[0])))
        for i, target in enumerate(targets):
            cost[i, :] = np.maximum(0.0, _pairwise(self.cfg, self.samples[target], detection_features, dims,
                                                   phalp_tracker).min(axis=0))
        return cost
