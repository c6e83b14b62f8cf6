"""Write real pickles for posepipe's merge tests, the way the Python tracker worker writes them.

Reads a JSON list of jobs on stdin; each job is
  {"out": path, "protocol": 5, "numpy2": false, "value": TREE}   any object, or
  {"out": path, "protocol": 5, "numpy2": false, "chunk": CHUNK}  a posepipe.chunk/1 result.
In a TREE, {"$array": nested lists, "dtype": "float32", "shape": [..]?, "order": "C"|"F"} is a
numpy array, {"$scalar": v, "dtype": "int64"} a numpy scalar, {"$custom": v} an instance of a class
defined here and {"$numpy": name} the numpy attribute itself (e.g. the type numpy.float32): both
globals the reader must refuse. CHUNK is the header fields plus
"rows": [{"frame", "track", "bbox": [x, y, w, h], "score", "extras": {name: nested list}}] and
optionally "extraShapes": {name: shape of one row} so that an empty chunk still carries its extras;
a chunk job may add "override": {key: TREE} and "drop": [key] to break it on purpose.
"numpy2": true renames numpy.core.* to numpy._core.* as numpy 2 writes them (checked to load back).
Run with /usr/bin/python3 (Debian's numpy).
"""
import io
import json
import pickle
import pickletools
import sys
import types

import numpy as np


class Custom:
    """A class the reader has never heard of."""

    def __init__(self, value):
        self.value = value


def build(tree):
    if isinstance(tree, list):
        return [build(item) for item in tree]
    if not isinstance(tree, dict):
        return tree
    if "$array" in tree:
        array = np.array(tree["$array"], dtype=tree["dtype"])
        if "shape" in tree:
            array = array.reshape(tree["shape"])
        if tree.get("order") == "F":
            array = np.asfortranarray(array)
        return array
    if "$scalar" in tree:
        return np.dtype(tree["dtype"]).type(tree["$scalar"])
    if "$custom" in tree:
        return Custom(tree["$custom"])
    if "$numpy" in tree:
        return getattr(np, tree["$numpy"])
    return {key: build(value) for key, value in tree.items()}


def build_chunk(spec):
    rows = spec.get("rows", [])
    shapes = {name: tuple(shape) for name, shape in spec.get("extraShapes", {}).items()}
    names = list(shapes)
    for row in rows:
        for name in row.get("extras", {}):
            if name not in names:
                names.append(name)
    extras = {}
    for name in names:
        values = [row["extras"][name] for row in rows]
        shape = shapes.get(name) or np.array(values[0]).shape
        extras[name] = np.array(values, dtype=np.float32).reshape((len(rows),) + tuple(shape))
    result = {key: spec[key] for key in spec if key not in ("rows", "extraShapes")}
    result.update(
        frame=np.array([row["frame"] for row in rows], dtype=np.int32),
        track=np.array([row["track"] for row in rows], dtype=np.int32),
        bbox=np.array([row["bbox"] for row in rows], dtype=np.float32).reshape(len(rows), 4),
        score=np.array([row["score"] for row in rows], dtype=np.float32),
        extras=extras,
    )
    return result


def rename_numpy_core(data):
    """Rewrite numpy.core.* module names as numpy._core.*, op by op, dropping FRAME (optional)."""
    ops = list(pickletools.genops(data))
    out = io.BytesIO()
    for i, (op, arg, pos) in enumerate(ops):
        end = ops[i + 1][2] if i + 1 < len(ops) else len(data)
        if op.name == "FRAME":
            continue
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE") and isinstance(arg, str) and arg.startswith("numpy.core"):
            name = ("numpy._core" + arg[len("numpy.core"):]).encode()
            out.write(b"\x8c" + bytes([len(name)]) + name)
            continue
        out.write(data[pos:end])
    return out.getvalue()


def check_loads(data):
    """Prove the rewritten pickle is valid for CPython by loading it with numpy._core aliased."""
    import numpy.core.multiarray
    import numpy.core.numeric

    core = types.ModuleType("numpy._core")
    saved = {name: sys.modules.get(name) for name in ("numpy._core", "numpy._core.multiarray", "numpy._core.numeric")}
    sys.modules.update({"numpy._core": core, "numpy._core.multiarray": numpy.core.multiarray, "numpy._core.numeric": numpy.core.numeric})
    try:
        pickle.loads(data)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def main():
    for job in json.load(sys.stdin):
        if "chunk" in job:
            value = build_chunk(job["chunk"])
            value.update(build(job.get("override", {})))
            for key in job.get("drop", []):
                del value[key]
        else:
            value = build(job["value"])
        data = pickle.dumps(value, protocol=job.get("protocol", 5))
        if job.get("numpy2"):
            data = rename_numpy_core(data)
            check_loads(data)
        with open(job["out"], "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
