"""Mapping PHALP's per-detection records (its `detection_data` dicts) to posepipe's chunk rows.

Only real observations become rows: a confirmed track whose `time_since_update` is 0 in this frame
(the tracker matched a detection to it), plus, at the moment a track is confirmed, the n_init - 1
earlier detections that built it (PHALP's own back-fill). The entries PHALP lists for tracks that
were not detected in a frame ("ghosts", tracked_time > 0) are never written.
"""

from typing import Any, Dict, List, Tuple

import numpy as np

EXTRA_NAMES = ("keypoints2d", "joints3d", "smpl_global_orient", "smpl_body_pose", "smpl_betas",
               "camera_translation", "focal_length")


class Rows:
    """Accumulates (frame, track id, detection_data) for one chunk."""

    def __init__(self) -> None:
        self._rows: List[Tuple[int, int, Dict[str, Any]]] = []

    def observe(self, tracks: Any, n_init: int) -> None:
        """Record this frame's observed, confirmed tracks (call after tracker.update)."""
        for track in tracks:
            if not track.is_confirmed() or track.time_since_update != 0:
                continue  # tentative, or a ghost carried forward without a detection
            history = track.track_data["history"]
            self._rows.append((int(history[-1]["time"]), int(track.track_id), history[-1]))
            if track.hits == n_init:
                for back in range(2, min(n_init, len(history)) + 1):
                    data = history[-back]
                    self._rows.append((int(data["time"]), int(track.track_id), data))

    def columns(self, focal: float, res: int) -> Tuple[Any, Any, Any, Any, Dict[str, Any]]:
        """(frame, track, bbox, score, extras) as the worker wants them; see phalp.py for units."""
        rows = self._rows  # each (frame, track) once: a back-filled frame is never also a live row
        m = len(rows)
        frame = np.array([r[0] for r in rows], dtype=np.int32)
        track = np.array([r[1] for r in rows], dtype=np.int32)
        bbox = np.array([np.asarray(r[2]["bbox"], dtype=np.float64).reshape(4) for r in rows],
                        dtype=np.float32).reshape(m, 4)
        score = np.array([float(r[2]["conf"]) for r in rows], dtype=np.float32)
        per_row = [_extras(r[2], focal, res) for r in rows]
        extras = {name: np.stack([p[name] for p in per_row]).astype(np.float32) if m else _empty(name)
                  for name in EXTRA_NAMES}
        return frame, track, bbox, score, extras


def _extras(data: Dict[str, Any], focal: float, res: int) -> Dict[str, Any]:
    height, width = (int(v) for v in data["size"])
    side = max(height, width)
    left, top = (side - width) // 2, (side - height) // 2
    joints2d = np.asarray(data["2d_joints"], dtype=np.float64).reshape(-1, 2)
    # Normalised to the padded square (side x side, image centred): back to image pixels.
    pixels = joints2d * side - np.array([left, top], dtype=np.float64)
    smpl = data["smpl"]
    return {
        "keypoints2d": pixels,
        "joints3d": np.asarray(data["3d_joints"], dtype=np.float64).reshape(-1, 3),
        "smpl_global_orient": np.asarray(smpl["global_orient"]).reshape(1, 3, 3),
        "smpl_body_pose": np.asarray(smpl["body_pose"]).reshape(23, 3, 3),
        "smpl_betas": np.asarray(smpl["betas"]).reshape(10),
        "camera_translation": np.asarray(data["camera"], dtype=np.float64).reshape(3),
        # PHALP's camera assumes focal `focal` on a `res` px square covering the padded frame.
        "focal_length": np.float64(focal * side / res),
    }


def _empty(name: str) -> Any:
    shapes = {"keypoints2d": (0, 45, 2), "joints3d": (0, 45, 3), "smpl_global_orient": (0, 1, 3, 3),
              "smpl_body_pose": (0, 23, 3, 3), "smpl_betas": (0, 10), "camera_translation": (0, 3),
              "focal_length": (0,)}
    return np.zeros(shapes[name], dtype=np.float32)
