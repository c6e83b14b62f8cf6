"""Stand-in for phalp.trackers.PHALP.PHALP: construction order, detection and cropping surfaces.

track() is deliberately absent: posepipe must drive the loop itself.
"""
import os

import cv2
import numpy as np
import torch
from torch import nn

from _faults import env_int
from phalp.external.deep_sort_ import nn_matching
from phalp.external.deep_sort_.tracker import Tracker
from phalp.models.hmar.hmr import HMR2018Predictor

BUILT = []  # every PHALP constructed in this process, for tests


class PHALP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.setup_hmr()
        self.setup_predictor()
        self.setup_detectron2()
        self.setup_visualizer()
        self.to(self.device)
        self.eval()
        self.default_setup()
        BUILT.append(self)

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
        metric = nn_matching.NearestNeighborDistanceMetric(self.cfg, 100.0, 1)
        self.tracker = Tracker(self.cfg, metric, max_age=self.cfg.phalp.max_age_track, n_init=self.cfg.phalp.n_init,
                               phalp_tracker=self, dims=[4096, 4096, 99])

    def get_detections(self, image, frame_name, t_, additional_data=None, measurments=None):
        """(bbox x1y1x2y2, bbox again, masks (N,H,W) bool, scores, classes, gt track ids, gt annotations)."""
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert measurments == [image.shape[0], image.shape[1], max(image.shape[:2]),
                               (max(image.shape[:2]) - image.shape[1]) // 2, (max(image.shape[:2]) - image.shape[0]) // 2]
        if env_int("POSEPIPE_STANDIN_FAIL_AT") == t_:
            raise ValueError(f"stand-in detector failure at frame {t_}")
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
        mask = cv2.warpAffine(seg_mask.astype(np.uint8), warp, (256, 256)).astype(np.float32)
        crop = torch.from_numpy(np.concatenate([rgb.transpose(2, 0, 1), mask[None]], 0))
        rles = [{"size": list(seg_mask.shape), "counts": "stand-in"}]
        return crop, center, scale, rles, center_pad, scale_pad
