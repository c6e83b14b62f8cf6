"""A BVH file of one tracked person from posepipe's SMPL export (src/exports/smpl.ts: poses, trans,
betas, frame_index, mocap_framerate) and the user's SMPL model (SMPL_NEUTRAL.pkl, read by
posepipe.smpl_model), for Blender's, Maya's and MotionBuilder's BVH importers.

- The skeleton is SMPL's 24 joints with SMPL's names and hierarchy; each joint's OFFSET is its rest
  position minus its parent's, from the model shaped by the track's betas, in metres, Y up (SMPL's
  own rest frame). The end of each limb (head, feet, hands) gets an End Site.
- Motion: the root's position is the pelvis in the world, and every joint's rotation is SMPL's local
  rotation as Z, X, Y Euler angles in degrees (R = Rz Rx Ry). phalp's body lives in the camera's frame
  (x right, y down, z away from the camera); the root's rotation and position are turned half a turn
  about x, so the person stands upright, Y up and facing +Z when facing the camera, as BVH importers
  expect (Blender's default axes then give Z up).
- Frames run from the track's first detected frame to its last at the source's average rate; frames
  where the person was not detected are filled (rotations by spherical interpolation, the position
  linearly between the detected frames around them) and returned as the gaps, first and last frame.

Usage: python -m posepipe.bvh TRACK.npz OUT.bvh  (prints {"frames", "frameTime", "gaps"} as JSON;
exit 1 with the cause on stderr when the model or the track cannot be read). The model is
POSEPIPE_SMPL_MODEL when set, else the SMPL_NEUTRAL.pkl the phalp backend reads (4D-Humans' cache,
then PHALP's: posepipe/backends/phalp_files.py); without one, the error names where to put it.
"""

import json
import os
import sys
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .smpl_model import JOINT_NAMES, PARENTS, SmplModelError, load, rodrigues

# Half a turn about x: the camera's frame (y down, z away) to Y up.
UPRIGHT = np.diag([1.0, -1.0, -1.0])


def quaternions(matrices: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) as w, x, y, z of rotation matrices (..., 3, 3), by Shepperd's method:
    from the largest of the four, so half turns (w = 0) keep their axis's signs."""
    m = np.asarray(matrices, dtype=np.float64)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    candidates = np.stack([
        np.stack([1 + m00 + m11 + m22, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], -1),
        np.stack([m[..., 2, 1] - m[..., 1, 2], 1 + m00 - m11 - m22, m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0]], -1),
        np.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0], 1 - m00 + m11 - m22, m[..., 1, 2] + m[..., 2, 1]], -1),
        np.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1], 1 - m00 - m11 + m22], -1),
    ], -2)
    # Row k is 4 q_k q (its k-th entry 4 q_k^2): the row of the largest q_k is the best conditioned.
    best = np.argmax(np.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1), -1)
    q = np.take_along_axis(candidates, best[..., None, None], -2)[..., 0, :]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., :1] < 0, -q, q)


def matrices(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of unit quaternions (..., 4) (w, x, y, z)."""
    w, x, y, z = (q[..., i] for i in range(4))
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation between unit quaternions a and b (..., 4), the shorter way."""
    dot = np.sum(a * b, -1, keepdims=True)
    b = np.where(dot < 0, -b, b)
    dot = np.abs(dot)
    angle = np.arccos(np.clip(dot, -1.0, 1.0))
    s = np.sin(angle)
    near = s < 1e-9
    wa = np.where(near, 1 - t, np.sin((1 - t) * angle) / np.where(near, 1, s))
    wb = np.where(near, t, np.sin(t * angle) / np.where(near, 1, s))
    q = wa * a + wb * b
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def euler_zxy(m: np.ndarray) -> np.ndarray:
    """Angles (..., 3) in degrees, as (z, x, y), with m = Rz(z) Rx(x) Ry(y)."""
    x = np.arcsin(np.clip(m[..., 2, 1], -1.0, 1.0))
    y = np.arctan2(-m[..., 2, 0], m[..., 2, 2])
    z = np.arctan2(-m[..., 0, 1], m[..., 1, 1])
    # At x = +-90 degrees z and y turn about the same axis (gimbal lock): y = 0 and z takes it all.
    locked = np.hypot(m[..., 2, 0], m[..., 2, 2]) < 1e-9
    y = np.where(locked, 0.0, y)
    z = np.where(locked, np.arctan2(m[..., 1, 0], m[..., 0, 0]), z)
    return np.degrees(np.stack([z, x, y], -1))


def filled(frame_index: np.ndarray, rotations: np.ndarray, trans: np.ndarray) -> Tuple[np.ndarray, np.ndarray, List[List[int]]]:
    """Every frame from the first detected to the last: rotations (F, 24, 3, 3) and trans (F, 3),
    the undetected ones interpolated between the detected frames around them, and those gaps."""
    first, last = int(frame_index[0]), int(frame_index[-1])
    count = last - first + 1
    q = quaternions(rotations)
    out_q = np.zeros((count, 24, 4))
    out_t = np.zeros((count, 3))
    gaps: List[List[int]] = []
    for k, f in enumerate(frame_index):
        out_q[int(f) - first] = q[k]
        out_t[int(f) - first] = trans[k]
        if k > 0 and int(f) - int(frame_index[k - 1]) > 1:
            before, after = int(frame_index[k - 1]), int(f)
            gaps.append([before + 1, after - 1])
            for g in range(before + 1, after):
                t = (g - before) / (after - before)
                out_q[g - first] = slerp(q[k - 1], q[k], t)
                out_t[g - first] = (1 - t) * trans[k - 1] + t * trans[k]
    return matrices(out_q), out_t, gaps


def _children() -> Dict[int, List[int]]:
    """Each SMPL joint's children, in index order."""
    children: Dict[int, List[int]] = {i: [] for i in range(24)}
    for i, p in enumerate(PARENTS):
        if p >= 0:
            children[p].append(i)
    return children


def hierarchy(offsets: np.ndarray) -> List[str]:
    """The HIERARCHY section's lines for SMPL's tree, depth first (the order order() gives)."""
    children = _children()
    lines: List[str] = []

    def joint(i: int, depth: int) -> None:
        pad = "  " * depth
        o = offsets[i]
        if PARENTS[i] < 0:
            lines.append(f"ROOT {JOINT_NAMES[i]}")
            lines.append("{")
            lines.append(f"{pad}  OFFSET 0.000000 0.000000 0.000000")
            lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation")
        else:
            lines.append(f"{pad}JOINT {JOINT_NAMES[i]}")
            lines.append(f"{pad}{{")
            lines.append(f"{pad}  OFFSET {o[0]:.6f} {o[1]:.6f} {o[2]:.6f}")
            lines.append(f"{pad}  CHANNELS 3 Zrotation Xrotation Yrotation")
        if children[i]:
            for c in children[i]:
                joint(c, depth + 1)
        else:
            # The end of a limb (head, feet, hands): a tenth of a metre on along the bone that leads here.
            direction = offsets[i] / max(np.linalg.norm(offsets[i]), 1e-9)
            end = direction * 0.1
            lines.append(f"{pad}  End Site")
            lines.append(f"{pad}  {{")
            lines.append(f"{pad}    OFFSET {end[0]:.6f} {end[1]:.6f} {end[2]:.6f}")
            lines.append(f"{pad}  }}")
        lines.append(f"{pad}}}")

    joint(0, 0)
    return lines


def order() -> List[int]:
    """The joints in the order the HIERARCHY lists them (depth first, children in index order)."""
    children = _children()
    out: List[int] = []

    def walk(i: int) -> None:
        out.append(i)
        for c in children[i]:
            walk(c)

    walk(0)
    return out


def write_bvh(model_path: str, track_path: str, out_path: str) -> Dict[str, Any]:
    """Write the BVH of the track in `track_path` (an smpl export) to `out_path` (through a
    temporary name, then renamed); returns its frames, frame time and gaps."""
    model = load(model_path)
    with np.load(track_path) as track:
        poses = np.asarray(track["poses"], dtype=np.float64).reshape(-1, 24, 3)
        trans = np.asarray(track["trans"], dtype=np.float64).reshape(-1, 3)
        betas = np.asarray(track["betas"], dtype=np.float64)
        frame_index = np.asarray(track["frame_index"]).astype(np.int64)
        rate = float(track["mocap_framerate"])
    if len(poses) == 0:
        raise ValueError(f"{track_path}: the track has no detected frame")
    if not rate > 0:
        raise ValueError(f"{track_path}: mocap_framerate {rate} is not a rate")
    rest = model.rest_joints(betas)
    offsets = rest - rest[np.maximum(np.asarray(PARENTS), 0)]
    rotations, root_trans, gaps = filled(frame_index, rodrigues(poses), trans)
    # The root: turned upright, placed where the pelvis is (its rest position plus trans, turned).
    rotations[:, 0] = UPRIGHT @ rotations[:, 0]
    root = (UPRIGHT @ (rest[0] + root_trans).T).T
    angles = euler_zxy(rotations)
    joints = order()
    lines = ["HIERARCHY", *hierarchy(offsets), "MOTION", f"Frames: {len(rotations)}", f"Frame Time: {1.0 / rate:.8f}"]
    for f in range(len(rotations)):
        values = [*root[f], *angles[f, 0]]
        for j in joints[1:]:
            values.extend(angles[f, j])
        lines.append(" ".join(f"{v:.6f}" for v in values))
    temporary = f"{out_path}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, out_path)
    return {"frames": len(rotations), "frameTime": 1.0 / rate, "gaps": gaps}


def model_path() -> str:
    """The SMPL model to read: POSEPIPE_SMPL_MODEL, else the first of phalp's places that exists;
    SmplModelError naming those places when there is none."""
    chosen = os.environ.get("POSEPIPE_SMPL_MODEL", "")
    if chosen:
        return chosen
    from .backends.phalp_files import SMPL_HOW, smpl_paths
    places = smpl_paths()
    for place in places:
        if os.path.isfile(place):
            return place
    raise SmplModelError(f"no SMPL model for the bvh export: put SMPL_NEUTRAL.pkl at {places[0]} (or {places[1]}; "
                         f"{SMPL_HOW}), or set POSEPIPE_SMPL_MODEL to the file")


def main(argv: Optional[List[str]] = None) -> int:
    """The command line: TRACK.npz OUT.bvh."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m posepipe.bvh TRACK.npz OUT.bvh", file=sys.stderr)
        return 2
    try:
        summary = write_bvh(model_path(), *args)
    except (SmplModelError, ValueError, KeyError, OSError) as e:
        print(str(e), file=sys.stderr)
        return 1
    json.dump(summary, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
