"""Stand-in for phalp.trackers.PHALP.PHALP: construction order, detection, cropping, and a
reference get_human_features, all with the real signatures and return values.

get_human_features here is written from the real one's contract (one frame, one HMAR call per
person, detection_data keys and shapes as in brjathu/PHALP) so tests can compare posepipe's
batched version with it. track() is deliberately absent: posepipe must drive the loop itself.
"""
import os

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

BUILT = []  # every PHALP constructed in this process, for tests


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
                "uv": hmar_out["uv_vector"][0].numpy(), "embedding": np.concatenate([appe[0].numpy(), pose, loca]),
                "center": center_pad, "scale": scale_pad, "smpl": params, "camera": cam[0].numpy(),
                "camera_bbox": hmar_out["pred_cam"][0].numpy(), "3d_joints": joints3d[0].numpy(),
                "2d_joints": j2d.numpy(), "size": [img_height, img_width], "img_path": frame_name,
                "img_name": frame_name.split("/")[-1], "class_name": cls_id[p], "time": t_, "ground_truth": gt[p],
                "annotations": ann[p], "extra_data": extra_data[p] if extra_data is not None else None}))
        return out
