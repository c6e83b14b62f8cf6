"""The SMPL body model file (SMPL_NEUTRAL.pkl, the one phalp needs) read with numpy alone, and
SMPL's skeleton: the 24 rest joints for given betas and the forward kinematics of given poses.

The real file is a Python 2 pickle of a dict whose arrays are partly chumpy objects (`shapedirs`,
a `chumpy.ch.Ch`) and scipy sparse matrices (`J_regressor`, a CSC matrix). chumpy no longer
imports on numpy >= 1.24, and scipy is not needed: an allow-listed unpickler turns a plain
`chumpy.ch.Ch` into its value (numpy.asarray of its `x`, what `Ch.r` returns) and a CSC/CSR matrix
into a dense array; other chumpy objects load inert (an error only if a needed key is one), and
every other global is refused (nothing in the file is executed). The stand-in model the tests use
(python/tests/stand_ins/smpl_stand_in.py) is pickled the same way and read by the same code.

Conventions (SMPL's, as smplx and 4D-Humans compute them): rest joints J = J_regressor @
(v_template + shapedirs[..., :n] @ betas); joint i's rotation is relative to its parent; a posed
joint is G_parent(i) applied to (J_i - J_parent(i)), the root at J_0, plus `trans`. Poses are
axis-angle, 72 numbers: the global orient, then the 23 body joints in JOINT_NAMES order.

`python -m posepipe.smpl_model MODEL.pkl TRACK.npz` prints a `smpl` export's posed joints as JSON.
"""

import copyreg
import pickle
import sys
from typing import Any, Dict, Optional, Tuple

import numpy as np

JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hand", "right_hand",
)
PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)


class SmplModelError(Exception):
    """The model file is missing or not an SMPL model; the message names the file and the cause."""


class _Ch:
    """What a pickled chumpy object becomes: its class name and state; a plain chumpy.ch.Ch's
    value is its state's `x` (what Ch.r returns)."""

    kind = "chumpy.ch.Ch"

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.state = state


def _chumpy_class(module: str, name: str) -> type:
    # Any chumpy class loads (an expression stored under a key the reader does not use is harmless);
    # only a plain Ch can be turned into an array.
    return _Ch if (module, name) == ("chumpy.ch", "Ch") else type(name, (_Ch,), {"kind": f"{module}.{name}"})


class _Sparse:
    """What a pickled scipy CSC matrix becomes: its state (data, indices, indptr, shape)."""

    columns = True

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.state = state


class _SparseRows(_Sparse):
    """What a pickled scipy CSR matrix becomes."""

    columns = False


def _numpy_global(module: str, name: str) -> Any:
    # numpy 1 pickles name numpy.core.*, numpy 2 numpy._core.*: whichever is installed serves both.
    inner = module.split(".", 2)[2] if module.count(".") >= 2 else ""
    for root in ("numpy._core", "numpy.core"):
        try:
            mod = __import__(f"{root}.{inner}", fromlist=[name])
            return getattr(mod, name)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"numpy has no {module}.{name}")


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric"):
            if module == "numpy" and name in ("ndarray", "dtype"):
                return getattr(np, name)
            if name in ("_reconstruct", "scalar", "_frombuffer"):
                return _numpy_global(module, name)
        if (module, name) in (("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor")):
            return copyreg._reconstructor  # type: ignore[attr-defined]
        if (module, name) in (("__builtin__", "object"), ("builtins", "object")):
            return object
        if module in ("__builtin__", "builtins") and name in ("set", "frozenset"):
            return set if name == "set" else frozenset  # a chumpy array's _dirty_vars
        if (module, name) == ("_codecs", "encode"):
            import codecs
            return codecs.encode
        if module == "chumpy" or module.startswith("chumpy."):
            return _chumpy_class(module, name)
        if module.startswith("scipy.sparse") and name in ("csc_matrix", "csr_matrix"):
            return _Sparse if name == "csc_matrix" else _SparseRows
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} (not an SMPL model's)")


def _dense(value: Any, key: str) -> np.ndarray:
    if isinstance(value, _Ch):
        if value.kind != "chumpy.ch.Ch" or not isinstance(getattr(value, "state", None), dict) or "x" not in value.state:
            raise ValueError(f"{key} is a chumpy expression ({value.kind}), not a plain chumpy array: convert the file with numpy where chumpy imports (smplx's tools/clean_ch.py)")
        return np.asarray(value.state["x"])
    if isinstance(value, _Sparse):
        s = value.state
        shape = tuple(int(n) for n in s.get("_shape", s.get("shape")))
        data, indices, indptr = (np.asarray(s[k]) for k in ("data", "indices", "indptr"))
        csc = value.columns
        out = np.zeros(shape, dtype=np.float64)
        for k in range(len(indptr) - 1):
            rows = indices[indptr[k]:indptr[k + 1]]
            if csc:
                out[rows, k] = data[indptr[k]:indptr[k + 1]]
            else:
                out[k, rows] = data[indptr[k]:indptr[k + 1]]
        return out
    return np.asarray(value)


class SmplModel:
    """The arrays of an SMPL model file, as dense numpy arrays (float64; faces int64)."""

    def __init__(self, arrays: Dict[str, np.ndarray], path: str) -> None:
        self.path = path
        self.v_template = arrays["v_template"].astype(np.float64)
        self.shapedirs = arrays["shapedirs"].astype(np.float64)
        self.J_regressor = arrays["J_regressor"].astype(np.float64)
        self.weights = arrays["weights"].astype(np.float64)
        self.posedirs = arrays["posedirs"].astype(np.float64)
        self.faces = arrays["f"].astype(np.int64)
        parents = arrays["kintree_table"][0].astype(np.int64)
        parents[0] = -1  # stored as 4294967295 (uint32 -1)
        self.parents = parents

    def rest_joints(self, betas: Optional[Any] = None) -> np.ndarray:
        """The 24 joints (24, 3) of the body shaped by `betas` (up to the file's count; none: the template)."""
        v = self.v_template
        if betas is not None:
            b = np.asarray(betas, dtype=np.float64).reshape(-1)
            if len(b) > self.shapedirs.shape[2]:
                raise ValueError(f"{len(b)} betas, but {self.path} has {self.shapedirs.shape[2]} shape components")
            v = v + self.shapedirs[:, :, :len(b)] @ b
        return self.J_regressor @ v

    def joints(self, poses: Any, betas: Optional[Any] = None, trans: Optional[Any] = None) -> np.ndarray:
        """Posed joints (T, 24, 3) for poses (T, 72) axis-angle, betas (10,) and trans (T, 3)."""
        return forward_kinematics(self.rest_joints(betas), poses, trans, tuple(self.parents))[0]


def load(path: str) -> SmplModel:
    """Read an SMPL model file (the real SMPL_NEUTRAL.pkl or the stand-in) without chumpy or scipy."""
    try:
        with open(path, "rb") as f:
            data = _Unpickler(f, encoding="latin1").load()
    except FileNotFoundError:
        raise SmplModelError(f"{path}: no such file (the SMPL model, SMPL_NEUTRAL.pkl, goes there)") from None
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
        raise SmplModelError(f"{path}: cannot read as an SMPL model ({e})") from e
    if not isinstance(data, dict):
        raise SmplModelError(f"{path}: not an SMPL model (a pickled {type(data).__name__}, not a dict)")
    shapes = {"v_template": (6890, 3), "J_regressor": (24, 6890), "kintree_table": (2, 24), "weights": (6890, 24), "f": (13776, 3)}
    arrays: Dict[str, np.ndarray] = {}
    for key in ("v_template", "shapedirs", "J_regressor", "kintree_table", "weights", "posedirs", "f"):
        if key not in data:
            raise SmplModelError(f"{path}: not an SMPL model (no {key!r})")
        try:
            arrays[key] = _dense(data[key], key)
        except (ValueError, KeyError, TypeError) as e:
            raise SmplModelError(f"{path}: cannot read {key!r} ({e})") from e
        want = shapes.get(key)
        if want and arrays[key].shape != want:
            raise SmplModelError(f"{path}: {key!r} has shape {arrays[key].shape}, expected {want}")
    if arrays["shapedirs"].shape[:2] != (6890, 3) or arrays["posedirs"].shape != (6890, 3, 207):
        raise SmplModelError(f"{path}: shapedirs {arrays['shapedirs'].shape} or posedirs {arrays['posedirs'].shape} is not SMPL's")
    return SmplModel(arrays, path)


def rodrigues(axis_angle: Any) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of axis-angle vectors (..., 3)."""
    v = np.asarray(axis_angle, dtype=np.float64)
    angle = np.linalg.norm(v, axis=-1, keepdims=True)
    axis = np.where(angle > 0, v / np.where(angle > 0, angle, 1.0), 0.0)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    k = np.stack([np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1), np.stack([-y, x, zero], -1)], -2)
    s, c = np.sin(angle)[..., None], np.cos(angle)[..., None]
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def forward_kinematics(rest: Any, poses: Any, trans: Optional[Any] = None,
                       parents: Tuple[int, ...] = PARENTS) -> Tuple[np.ndarray, np.ndarray]:
    """SMPL's FK: (posed joints (T, 24, 3), global rotations (T, 24, 3, 3)) for rest joints (24, 3),
    poses (T, 72) or (72,) axis-angle and trans (T, 3) or (3,) (default 0)."""
    rest = np.asarray(rest, dtype=np.float64).reshape(24, 3)
    local = rodrigues(np.asarray(poses, dtype=np.float64).reshape(-1, 24, 3))
    t = len(local)
    shift = np.zeros((t, 3)) if trans is None else np.broadcast_to(np.asarray(trans, dtype=np.float64).reshape(-1, 3), (t, 3))
    rotations = np.zeros((t, 24, 3, 3))
    positions = np.zeros((t, 24, 3))
    for i, parent in enumerate(parents):
        if parent < 0:
            rotations[:, i] = local[:, i]
            positions[:, i] = rest[i]
        else:
            rotations[:, i] = rotations[:, parent] @ local[:, i]
            positions[:, i] = positions[:, parent] + rotations[:, parent] @ (rest[i] - rest[parent])
    return positions + shift[:, None, :], rotations


def main(argv: Optional[list] = None) -> int:
    """`python -m posepipe.smpl_model MODEL.pkl TRACK.npz`: the track's posed joints (T, 24, 3) from
    its poses, betas (the track's) and trans, as JSON on stdout (for checks outside Python)."""
    import argparse
    import json
    parser = argparse.ArgumentParser(prog="python -m posepipe.smpl_model", description=main.__doc__)
    parser.add_argument("model")
    parser.add_argument("track")
    args = parser.parse_args(argv)
    try:
        model = load(args.model)
    except SmplModelError as e:
        print(e, file=sys.stderr)
        return 1
    with np.load(args.track) as track:
        joints = model.joints(track["poses"], track["betas"], track["trans"])
    json.dump({"joints": joints.round(9).tolist(), "names": list(JOINT_NAMES)}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
