"""TEST FIXTURE: valid SMPL parameters for the test-fixture backend (POSEPIPE_TEST_FIXTURE_SMPL=1),
each a pure function of the absolute frame index and the person, so an export can be checked
against the truth (`truth(frame, person)`).

The rotations come from integer quaternions of norm 100 (a^2 + b^2 + c^2 + d^2 = 10000): every
entry of their rotation matrices is an integer / 10000, which posepipe's output (4 decimals) keeps
exactly, so an export's conversion is measured, not the output's rounding. Among them: the
identity (angle 0) and half turns (angle pi), where axis-angle conversions are fragile; joints 22
and 23 (the hands) take the identity on even frames and a half turn on odd ones, so every track has
both. Betas, camera translation and focal length are likewise exact at 4 decimals.

Person p (0-based) is not detected at frames f where (f + 2p) % 6 == 5: the rows are missing, as
phalp writes no row for a person it only predicts, so exports have gaps to list.
"""

import math
from typing import Any, Dict, List, Optional

import numpy as np

NORM = 100
_TABLE: Optional[np.ndarray] = None


def quaternions() -> np.ndarray:
    """Every integer quaternion (w, x, y, z) of norm 100 with w >= 0, the identity first, then the
    half turn about (0.6, 0.8, 0), then the rest in lexicographic order; (N, 4) int64."""
    global _TABLE
    if _TABLE is None:
        r = np.arange(-NORM, NORM + 1)
        b, c = np.meshgrid(r, r, indexing="ij")
        found: List[np.ndarray] = []
        for w in range(0, NORM + 1):
            rest = NORM * NORM - w * w - b * b - c * c
            ok = rest >= 0
            d = np.zeros_like(rest)
            d[ok] = np.rint(np.sqrt(rest[ok]))
            ok &= d * d == rest
            for sign in (1, -1):
                pick = ok & ((d > 0) | (sign == 1))
                found.append(np.stack([np.full(pick.sum(), w), b[pick], c[pick], sign * d[pick]], axis=1))
        table = np.unique(np.concatenate(found), axis=0)
        first = [np.array([NORM, 0, 0, 0]), np.array([0, 60, 80, 0])]
        keep = ~((table == first[0]).all(axis=1) | (table == first[1]).all(axis=1))
        _TABLE = np.concatenate([np.stack(first), table[keep]]).astype(np.int64)
    return _TABLE


def matrix(q: np.ndarray) -> np.ndarray:
    """The rotation matrix of integer quaternions (..., 4) of norm 100, exactly (float64)."""
    w, x, y, z = (q[..., k].astype(np.float64) for k in range(4))
    n = float(NORM * NORM)
    rows = [
        [w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z],
    ]
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2) / n


def axis_angle(q: np.ndarray) -> np.ndarray:
    """The axis-angle vector (..., 3) of quaternions (..., 4) with w >= 0: angle in [0, pi]."""
    q = q.astype(np.float64)
    v = q[..., 1:]
    s = np.linalg.norm(v, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., :1])
    return np.where(s > 0, v / np.where(s > 0, s, 1.0) * angle, 0.0)


def detected(frame: int, person: int) -> bool:
    """Whether person (0-based) has a row at this absolute frame."""
    return (frame + 2 * person) % 6 != 5


def _pose_quaternions(frame: int, person: int) -> np.ndarray:
    table = quaternions()
    joints = np.arange(24)
    index = (frame * 7919 + person * 104729 + joints * 1009) % len(table)
    index[22] = 0 if frame % 2 == 0 else 1
    index[23] = 0 if frame % 2 == 0 else 1
    return table[index]


def truth(frame: int, person: int, width: int, height: int) -> Dict[str, Any]:
    """The SMPL parameters of person (0-based) at an absolute frame of a width x height video:
    poses (72,) axis-angle (global orient, then 23 joints), matrices (24, 3, 3), betas (10,),
    camera_translation (3,), focal_length."""
    q = _pose_quaternions(frame, person)
    betas = np.round(np.sin(np.arange(10) * 0.7 + frame * 0.05 + person), 4)
    camera = np.round([0.3 * math.sin(0.05 * frame) + 0.5 * person - 0.25,
                       0.1 * math.cos(0.07 * frame), 8.0 + 0.02 * frame + person], 4)
    return {
        "poses": axis_angle(q).reshape(72),
        "matrices": matrix(q),
        "betas": betas,
        "camera_translation": np.asarray(camera, dtype=np.float64),
        # phalp's focal length: 5000 px on a 256 px square covering the padded frame.
        "focal_length": round(5000.0 * max(width, height) / 256.0, 4),
    }


def smpl_extras(frames: np.ndarray, persons: np.ndarray, width: int, height: int) -> Dict[str, Any]:
    """The SMPL extras (float32, phalp's names and shapes) of rows at these absolute frames and persons."""
    rows = [truth(int(f), int(p), width, height) for f, p in zip(frames, persons)]
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)
    m = len(rows)
    if not m:
        return {"smpl_global_orient": np.zeros((0, 1, 3, 3), np.float32), "smpl_body_pose": np.zeros((0, 23, 3, 3), np.float32),
                "smpl_betas": np.zeros((0, 10), np.float32), "camera_translation": np.zeros((0, 3), np.float32),
                "focal_length": np.zeros((0,), np.float32)}
    matrices = np.stack([r["matrices"] for r in rows])
    return {
        "smpl_global_orient": f32(matrices[:, :1]),
        "smpl_body_pose": f32(matrices[:, 1:]),
        "smpl_betas": f32(np.stack([r["betas"] for r in rows])),
        "camera_translation": f32(np.stack([r["camera_translation"] for r in rows])),
        "focal_length": f32([r["focal_length"] for r in rows]),
    }
