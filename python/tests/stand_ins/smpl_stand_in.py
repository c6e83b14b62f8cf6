"""A STAND-IN for SMPL_NEUTRAL.pkl (the SMPL model is licensed and cannot ship with posepipe).

Random but deterministic (a seed), plain numpy, with the real file's keys, array shapes and
pickling: a pickle (protocol 3) of a dict whose `shapedirs` is a `chumpy.ch.Ch` (state with `x`) and
whose `J_regressor` is a `scipy.sparse` CSC matrix (state: data, indices, indptr, _shape), the
others numpy arrays (`kintree_table` uint32 with 4294967295 as the root's parent), so
posepipe.smpl_model reads it by the same path as the real one; neither chumpy nor scipy is needed
to write or read it.

The body is SMPL-like where a skeleton needs it: each joint is regressed (weights 1/8) from eight
template vertices scattered around an approximate SMPL rest position of that joint (metres, y up,
the person facing +z), so bones have SMPL's lengths and directions; betas move each joint by a few
centimetres. Everything else (the other vertices, weights, posedirs, faces) is random.

    python smpl_stand_in.py OUT.pkl [--betas 10|300] [--seed N]
"""

import argparse
import pickle
from typing import Any, Dict

import numpy as np

# Approximate rest joints of SMPL's neutral body (JOINT_NAMES order), rounded.
REST = np.array([
    [0.0, -0.22, 0.03], [0.07, -0.31, 0.02], [-0.07, -0.31, 0.02], [0.0, -0.11, 0.0],
    [0.10, -0.68, 0.02], [-0.10, -0.68, 0.02], [0.0, 0.03, 0.0], [0.09, -1.09, -0.02],
    [-0.09, -1.09, -0.02], [0.0, 0.08, 0.03], [0.12, -1.14, 0.10], [-0.12, -1.14, 0.10],
    [0.0, 0.29, -0.02], [0.08, 0.20, 0.0], [-0.08, 0.20, 0.0], [0.0, 0.38, 0.04],
    [0.18, 0.23, -0.02], [-0.18, 0.23, -0.02], [0.43, 0.21, -0.04], [-0.43, 0.21, -0.04],
    [0.68, 0.22, -0.04], [-0.68, 0.22, -0.04], [0.76, 0.21, -0.05], [-0.76, 0.21, -0.05],
])
PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
PER_JOINT = 8


class _Ch:
    """Pickled as chumpy.ch.Ch (renamed in the bytes): a plain chumpy array's state."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x

    def __getstate__(self) -> Dict[str, Any]:
        return {"x": self.x, "_dirty_vars": set(), "_itr": None}


class _Csc:
    """Pickled as scipy.sparse._csc.csc_matrix (renamed in the bytes): a CSC matrix's state."""

    def __init__(self, dense: np.ndarray) -> None:
        rows, cols = dense.shape
        nz = [np.nonzero(dense[:, c])[0] for c in range(cols)]
        self.indices = np.concatenate(nz).astype(np.int32)
        self.indptr = np.concatenate([[0], np.cumsum([len(n) for n in nz])]).astype(np.int32)
        self.data = np.concatenate([dense[n, c] for c, n in enumerate(nz)])
        self._shape = (rows, cols)
        self.maxprint = 50


def model_arrays(seed: int = 0, betas: int = 10) -> Dict[str, Any]:
    """The stand-in's dict (before pickling), dense J_regressor as `J_regressor_dense`."""
    rng = np.random.default_rng(seed)
    v = rng.uniform([-0.8, -1.2, -0.15], [0.8, 0.45, 0.2], size=(6890, 3))
    regressor = np.zeros((24, 6890))
    chosen = rng.permutation(6890)[: 24 * PER_JOINT].reshape(24, PER_JOINT)
    for j in range(24):
        offsets = rng.normal(0.0, 0.02, size=(PER_JOINT, 3))
        offsets -= offsets.mean(axis=0)  # their mean is exactly the joint
        v[chosen[j]] = REST[j] + offsets
        regressor[j, chosen[j]] = 1.0 / PER_JOINT
    shapedirs = rng.normal(0.0, 0.01, size=(6890, 3, betas))
    weights = rng.uniform(size=(6890, 24))
    kintree = np.array([[4294967295] + list(PARENTS[1:]), list(range(24))], dtype=np.uint32)
    return {
        "v_template": v,
        "shapedirs": shapedirs,
        "J_regressor_dense": regressor,
        "kintree_table": kintree,
        "weights": weights / weights.sum(axis=1, keepdims=True),
        "posedirs": rng.normal(0.0, 0.001, size=(6890, 3, 207)),
        "f": rng.integers(0, 6890, size=(13776, 3)).astype(np.uint32),
        "J": regressor @ v,
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }


def write(path: str, seed: int = 0, betas: int = 10) -> None:
    """Write the stand-in model to `path`."""
    a = model_arrays(seed, betas)
    data = {k: v for k, v in a.items() if k not in ("shapedirs", "J_regressor_dense")}
    data["shapedirs"] = _Ch(a["shapedirs"])
    data["J_regressor"] = _Csc(a["J_regressor_dense"])
    # Protocol 3: globals as GLOBAL opcodes like the real (Python 2, protocol 2) file, but raw bytes
    # without protocol 2's latin-1 detour through _codecs.encode (4x faster to write).
    raw = pickle.dumps(data, protocol=3)
    for ours, theirs in ((f"c{__name__}\n_Ch\n", "cchumpy.ch\nCh\n"), (f"c{__name__}\n_Csc\n", "cscipy.sparse._csc\ncsc_matrix\n")):
        if raw.count(ours.encode()) != 1:
            raise RuntimeError(f"stand-in SMPL: expected one {ours!r} in the pickle")
        raw = raw.replace(ours.encode(), theirs.encode())
    with open(path, "wb") as f:
        f.write(raw)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--betas", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    write(args.out, args.seed, args.betas)
