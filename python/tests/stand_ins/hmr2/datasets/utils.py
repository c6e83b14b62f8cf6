import numpy as np


def expand_bbox_to_aspect_ratio(bbox, target_aspect_ratio=None):
    """bbox (N, 4) x1 y1 x2 y2 -> (N, 4) grown around its centre to the w:h of target_aspect_ratio."""
    bbox = np.asarray(bbox, dtype=np.float64).reshape(-1, 4)
    if target_aspect_ratio is None:
        return bbox
    w_t, h_t = target_aspect_ratio
    centre = (bbox[:, :2] + bbox[:, 2:]) / 2
    w, h = bbox[:, 2] - bbox[:, 0], bbox[:, 3] - bbox[:, 1]
    grow_w = w * h_t < h * w_t
    new_w = np.where(grow_w, h * w_t / h_t, w)
    new_h = np.where(grow_w, h, w * h_t / w_t)
    half = np.stack([new_w, new_h], 1) / 2
    return np.concatenate([centre - half, centre + half], 1)
