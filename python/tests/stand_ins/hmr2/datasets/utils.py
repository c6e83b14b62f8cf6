"""Stand-in for hmr2.datasets.utils.expand_bbox_to_aspect_ratio (4D-Humans): grow boxes, never
shrink them, around their centres to the (width, height) aspect; (N, 4) or (4,) x1 y1 x2 y2 in,
the same shape out; no aspect, or no boxes: returned unchanged."""
import numpy as np


def expand_bbox_to_aspect_ratio(bbox, target_aspect_ratio=None):
    if target_aspect_ratio is None:
        return bbox
    single = bbox.ndim == 1
    boxes = bbox[None, :] if single else bbox
    if boxes.shape[0] == 0:
        return bbox
    w_t, h_t = target_aspect_ratio
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    taller = h / w < h_t / w_t
    new_w = np.where(taller, w, h * w_t / h_t)
    new_h = np.where(taller, w * h_t / w_t, h)
    half = np.stack([new_w, new_h], 1) / 2
    out = np.concatenate([centre - half, centre + half], 1)
    return out[0] if single else out
