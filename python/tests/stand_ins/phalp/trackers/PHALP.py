"""Stand-in for phalp.trackers.PHALP.PHALP: construction order, detection, cropping, and a
reference get_human_features, all with the real signatures and return values.

get_human_features here is written from the real one's contract (one frame, one HMAR call per
person, detection_data keys and shapes as in brjathu/PHALP) so tests can compare posepipe's
batched version with it. track() is deliberately absent: posepipe must drive the loop itself.

The tracker (phalp.external.deep_sort_) calls back into this object as the real one does:
forward_for_tracking (next pose "P" / location "L" of tracks), get_pose_distance and
get_uv_distance (matching cost). Each asserts the types, dtypes and shapes PHALP's own code
hands it, records the call in MATCHER_CALLS, and returns the real return types and shapes.
"""
import os
from collections import deque

import cv2
import numpy as np
import torch
from torch import nn

from _faults import env_int
from phalp.configs.base import CACHE_DIR
from phalp.external.deep_sort_ import nn_matching
from phalp.external.deep_sort_.detection import Detection
from phalp.external.deep_sort_.tracker import Tracker
from phalp.models.hmar.hmr import HMR2018Predictor
from phalp.utils.utils import smpl_to_pose_camera_vector
# As the real PHALP.py: this import chain reaches py_renderer, which forces PYOPENGL_PLATFORM=egl.
from phalp.visualize.visualizer import Visualizer  # noqa: F401

BUILT = []  # every PHALP constructed in this process, for tests
# (method, description of each argument) for the latest matcher callbacks, for tests; see describe().
MATCHER_CALLS = deque(maxlen=100_000)


def describe(value):
    """('ndarray', shape, dtype) / ('Tensor', shape, dtype, device type) / a list of those / a type name."""
    if isinstance(value, np.ndarray):
        return ("ndarray", value.shape, str(value.dtype))
    if isinstance(value, torch.Tensor):
        return ("Tensor", tuple(value.shape), str(value.dtype).replace("torch.", ""), value.device.type)
    if isinstance(value, (list, tuple)):
        return [describe(v) for v in value]
    return type(value).__name__


def _array(name, value, shape, kinds="f"):
    """value must be a numpy array of `shape` (None: any size) whose dtype kind is in `kinds`."""
    assert isinstance(value, np.ndarray), f"{name} is {type(value).__name__}; PHALP passes a numpy array here"
    assert value.ndim == len(shape) and all(w is None or w == g for w, g in zip(shape, value.shape)), \
        f"{name} has shape {value.shape}, PHALP passes {tuple('N' if w is None else w for w in shape)}"
    assert value.dtype.kind in kinds and value.dtype != np.float16, f"{name} has dtype {value.dtype}"


def _fit(times, values, at):
    """Least-squares line through (times, values), evaluated at `at`; (value, rms residual)."""
    t = times.astype(np.float64)
    spread = ((t - t.mean()) ** 2).sum()
    slope = ((t - t.mean()) * (values - values.mean())).sum() / spread if spread > 0 else 0.0
    fitted = values.mean() + slope * (t - t.mean())
    return values.mean() + slope * (at - t.mean()), float(np.sqrt(((values - fitted) ** 2).mean()))


class PHALP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.cached_download_from_drive()
        self.setup_hmr()
        self.setup_predictor()
        self.setup_detectron2()
        self.setup_visualizer()
        self.to(self.device)
        self.train() if cfg.train else self.eval()
        self.default_setup()
        BUILT.append(self)

    def cached_download_from_drive(self, additional_urls=None):
        smpl = os.path.join(CACHE_DIR, "phalp/3D/models/smpl/SMPL_NEUTRAL.pkl")
        if not os.path.exists(smpl):
            raise AssertionError("stand-in: PHALP would now wget an unofficial SMPL copy; posepipe must check first")

    def setup_hmr(self):
        self.HMAR = HMR2018Predictor(self.cfg)

    def setup_predictor(self):
        self.pose_predictor = None

    def setup_detectron2(self):
        if self.cfg.phalp.detector not in ("vitdet", "maskrcnn"):
            raise ValueError(f"Detector {self.cfg.phalp.detector} not supported")
        self.detector = self.cfg.phalp.detector

    def setup_visualizer(self):
        raise AssertionError("stand-in: the visualizer would create EGL renderers; posepipe must not build it")

    def default_setup(self):
        os.makedirs(os.path.join(self.cfg.video.output_dir, "results"), exist_ok=True)

    def setup_deepsort(self):
        metric = nn_matching.NearestNeighborDistanceMetric(self.cfg, self.cfg.phalp.hungarian_th, self.cfg.phalp.past_lookback)
        self.tracker = Tracker(self.cfg, metric, max_age=self.cfg.phalp.max_age_track, n_init=self.cfg.phalp.n_init,
                               phalp_tracker=self, dims=[4096, 4096, 99])

    def get_detections(self, image, frame_name, t_, additional_data=None, measurments=None):
        """(bbox x1y1x2y2, the same bbox again, masks (N,H,W) bool, scores, classes, gt track ids, gt annotations)."""
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert frame_name not in additional_data, "additional_data must be a dict (the real code calls .keys())"
        if env_int("POSEPIPE_STANDIN_FAIL_AT") == t_:
            raise ValueError(f"stand-in detector failure at frame {t_}")
        oom_from = env_int("POSEPIPE_STANDIN_OOM_FROM_FRAME")
        if oom_from is not None and t_ >= oom_from:
            raise torch.cuda.OutOfMemoryError(f"CUDA out of memory (stand-in detector at frame {t_} of a request)")
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        count, labels, stats, _ = cv2.connectedComponentsWithStats((gray > 128).astype(np.uint8))
        boxes, masks, scores = [], [], []
        for label in sorted(range(1, count), key=lambda k: (stats[k, 0], stats[k, 1])):
            x, y, w, h, area = stats[label]
            mask = labels == label
            score = float(gray[mask].mean()) / 255.0
            if area < 50 or score <= self.cfg.phalp.low_th_c:
                continue
            boxes.append([x, y, x + w, y + h])
            masks.append(mask)
            scores.append(score)
        n = len(boxes)
        bbox = np.array(boxes, dtype=np.float32).reshape(n, 4)
        mask_array = np.array(masks, dtype=bool).reshape(n, *gray.shape)
        return (bbox, bbox, mask_array, np.array(scores, dtype=np.float32), np.zeros(n, dtype=np.int64),
                [1] * n, [[] for _ in range(n)])

    def get_croped_image(self, image, bbox, bbox_pad, seg_mask):
        """(masked crop (4, 256, 256) float, center, scale, rles, center_pad, scale_pad)."""
        center = np.array([(bbox[2] + bbox[0]) / 2, (bbox[3] + bbox[1]) / 2])
        scale = np.array([bbox[2] - bbox[0], bbox[3] - bbox[1]])
        center_pad = np.array([(bbox_pad[2] + bbox_pad[0]) / 2, (bbox_pad[3] + bbox_pad[1]) / 2])
        scale_pad = np.array([bbox_pad[2] - bbox_pad[0], bbox_pad[3] - bbox_pad[1]])
        side = max(scale_pad)
        src = np.float32([[center_pad[0] - side / 2, center_pad[1] - side / 2], [center_pad[0] + side / 2, center_pad[1] - side / 2],
                          [center_pad[0] - side / 2, center_pad[1] + side / 2]])
        dst = np.float32([[0, 0], [256, 0], [0, 256]])
        warp = cv2.getAffineTransform(src, dst)
        rgb = cv2.warpAffine(image, warp, (256, 256)).astype(np.float32) / 255.0
        mask = cv2.warpAffine(seg_mask.astype(np.uint8), warp, (256, 256), flags=cv2.INTER_NEAREST).astype(np.float32)
        crop = torch.from_numpy(np.concatenate([rgb.transpose(2, 0, 1), mask[None]], 0))
        rles = [{"size": list(seg_mask.shape), "counts": "stand-in"}]
        return crop, center, scale, rles, center_pad, scale_pad

    def run_additional_models(self, image_frame, pred_bbox, pred_masks, pred_scores, pred_classes, frame_name, t_,
                              measurments, gt_tids, gt_annots):
        return list(range(len(pred_scores)))

    def get_human_features(self, image, seg_mask, bbox, bbox_pad, score, frame_name, cls_id, t_, measurments, gt=1,
                           ann=None, extra_data=None):
        """Reference: one frame's detections, one person at a time; a list of Detection."""
        img_height, img_width, new_image_size, left, top = measurments
        ratio = self.cfg.render.res / int(new_image_size)
        out = []
        for p in range(len(score)):
            if bbox[p][2] - bbox[p][0] < self.cfg.phalp.small_w or bbox[p][3] - bbox[p][1] < self.cfg.phalp.small_h:
                continue
            crop, _, _, rles, center_pad, scale_pad = self.get_croped_image(image, bbox[p], bbox_pad[p], seg_mask[p])
            with torch.no_grad():
                hmar_out = self.HMAR(crop[None].to(self.device))
                appe = self.HMAR.autoencoder_hmar(hmar_out["uv_vector"], en=True).view(1, -1)
                smpl, joints2d, joints3d, cam = self.HMAR.get_3d_parameters(
                    hmar_out["pose_smpl"], hmar_out["pred_cam"], center=((center_pad + [left, top]) * ratio)[None],
                    img_size=self.cfg.render.res, scale=np.array([[max(scale_pad) * ratio]]))
            params = {k: v[0].cpu().numpy() for k, v in smpl.items()}
            pose = smpl_to_pose_camera_vector(params, cam[0])[0]
            j2d = joints2d.reshape(-1) / self.cfg.render.res
            loca = torch.cat([j2d, cam[0], cam[0], cam[0]]).numpy()
            out.append(Detection({
                "bbox": np.array([bbox[p][0], bbox[p][1], bbox[p][2] - bbox[p][0], bbox[p][3] - bbox[p][1]]),
                "mask": rles, "conf": score[p], "appe": appe[0].numpy(), "pose": pose, "loca": loca,
                "uv": hmar_out["uv_vector"][0].numpy(), "embedding": torch.from_numpy(np.concatenate([appe[0].numpy(), pose, loca])),
                "center": center_pad, "scale": scale_pad, "smpl": params, "camera": cam[0].numpy(),
                "camera_bbox": hmar_out["pred_cam"][0].numpy(), "3d_joints": joints3d[0].numpy(),
                "2d_joints": j2d.numpy(), "size": [img_height, img_width], "img_path": frame_name,
                "img_name": frame_name.split("/")[-1], "class_name": cls_id[p], "time": t_, "ground_truth": gt[p],
                "annotations": ann[p], "extra_data": extra_data[p] if extra_data is not None else None}))
        return out

    def forward_for_tracking(self, vectors, attibute="A", time=1):
        """"P": [poses (N, H, 229), data (N, H, 6), times (N, H)] -> (N, 229); "L": [locas (N, H, 99),
        times (N, H), confidences (N, H)] -> (N, 99). time: each track's time_since_update (N,).
        numpy in (the real one calls torch.from_numpy on each), CPU float32 tensors out. The stand-in
        predicts the last pose, and joint 44 and the depth on a straight line through the history."""
        MATCHER_CALLS.append(("forward_for_tracking", attibute, describe(vectors), describe(time)))
        assert attibute in ("P", "L"), f"attibute {attibute!r}: the tracker asks for 'P' or 'L'"
        assert isinstance(vectors, list) and len(vectors) == 3, "vectors: a list of three numpy arrays"
        history = self.cfg.phalp.track_history
        features, times, extra = (vectors[0], vectors[2], vectors[1]) if attibute == "P" else vectors
        _array(f"forward_for_tracking({attibute}) {'poses' if attibute == 'P' else 'locas'}", features,
               (None, history, 229 if attibute == "P" else 99))
        n = len(features)
        _array(f"forward_for_tracking({attibute}) times", times, (n, history), "iu")
        _array(f"forward_for_tracking({attibute}) time", time, (n,), "iu")
        if attibute == "P":
            _array("forward_for_tracking(P) data", extra, (n, history, 6))
            assert np.array_equal(extra[:, :, 4], times), "pose data column 4 must be the history's times"
            return torch.from_numpy(features[:, -1].astype(np.float32))
        _array("forward_for_tracking(L) confidences", extra, (n, history), "fiu")
        # The history holds detections' loca as get_human_features builds it: 2D joints (45 x 2) divided
        # by cfg.render.res (so within the padded square, about 0..1), then the camera translation 3 times.
        cams = features[:, :, 90:].reshape(n, history, 3, 3)
        assert np.allclose(cams[:, :, 1], cams[:, :, 0]) and np.allclose(cams[:, :, 2], cams[:, :, 0]), \
            "loca[90:99] must be the camera translation three times (PHALP's get_human_features)"
        assert np.abs(features[:, :, :90]).max(initial=0) < 4, \
            "loca[:90] must be the 2D joints / cfg.render.res (about 0..1), got values up to " \
            f"{np.abs(features[:, :, :90]).max():.1f}"
        depth = features[:, :, 92]  # loca[90:] as (3, 3): [0, 2] is the camera depth
        assert np.all(depth > 0), "loca[92] (camera depth) must be positive: PHALP takes its log"
        out = features[:, -1].astype(np.float32)
        for k in range(n):
            at = times[k, -1] + min(int(time[k]), 48) + 1
            x, x_spread = _fit(times[k], features[k, :, 88], at)
            y, y_spread = _fit(times[k], features[k, :, 89], at)
            log_depth, n_spread = _fit(times[k], np.log(depth[k]), at)
            out[k, 88:90] = x, y
            out[k, 90:] = [out[k, 90], out[k, 91], np.exp(log_depth), x_spread + 0.01, y_spread + 0.01,
                           np.exp(n_spread), 1, 1, 0]
        return torch.from_numpy(out)

    def get_uv_distance(self, t_uv, d_uv):
        """A track's and a detection's texture maps, numpy (4, 256, 256) each (the real one calls
        torch.from_numpy, then .cuda()), compared where both masks are on: (track embedding (4096,),
        detection embedding (4096,), overlap) as numpy, embeddings from HMAR.autoencoder_hmar / 1000."""
        MATCHER_CALLS.append(("get_uv_distance", describe(t_uv), describe(d_uv)))
        _array("get_uv_distance track uv", t_uv, (4, 256, 256))
        _array("get_uv_distance detection uv", d_uv, (4, 256, 256))
        track = torch.from_numpy(t_uv).float().clone()
        detect = torch.from_numpy(d_uv).float().clone()
        both = (track[3:] > 0.5) & (detect[3:] > 0.5)
        outside = ~both.repeat(4, 1, 1)
        track[outside] = 0.0
        detect[outside] = 0.0
        with torch.no_grad():
            track_emb = self.HMAR.autoencoder_hmar(track[None], en=True).reshape(-1) / 1e3
            detect_emb = self.HMAR.autoencoder_hmar(detect[None], en=True).reshape(-1) / 1e3
        assert track_emb.shape == (4096,), f"autoencoder_hmar gave {tuple(track_emb.shape)} per map"
        return track_emb.numpy(), detect_emb.numpy(), both.sum().numpy() / (256 * 256)

    def get_pose_distance(self, track_pose, detect_pose):
        """Squared L2 between track poses (n, 229) and detection poses (M, 229), numpy, without the
        last 3 (the camera) for pose_distance "smpl": (n, M) numpy."""
        MATCHER_CALLS.append(("get_pose_distance", describe(track_pose), describe(detect_pose)))
        _array("get_pose_distance track poses", track_pose, (None, 229))
        _array("get_pose_distance detection poses", detect_pose, (None, 229))
        if self.cfg.phalp.pose_distance == "smpl":
            track_pose, detect_pose = track_pose[:, :-3], detect_pose[:, :-3]
        diff = track_pose[:, None, :].astype(np.float64) - detect_pose[None, :, :]
        return (diff ** 2).sum(-1)
