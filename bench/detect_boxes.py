"""The builtin backend's detector as its tracker sees it (BuiltinBackend.detect: the boxes after its
own thresholds, shape filter and NMS), on raw frames that bench/detect.ts made. Run by that bench,
one process per detector; the detector is chosen as in the pipeline, by POSEPIPE_BUILTIN_DETECTOR
(and the rest of the POSEPIPE_BUILTIN_* settings), and centernet's helper by
POSEPIPE_DETECTOR_COMMAND.

Usage: python bench/detect_boxes.py MANIFEST.json
  the manifest: [{"name", "path", "width", "height", "passes"}, ...], each path a file of BGR frames
  (width x height x 3 bytes each, one after the other).
Prints one JSON line per material: {"name", "frames": [[[x, y, w, h, score, weak], ...], ...],
"seconds": time of every detect() call over all passes, "calls"}. Each frame is detected `passes`
times (the boxes of the first pass are printed), one at a time, so the time is one core's.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import numpy as np  # noqa: E402

from posepipe.backends.builtin import BuiltinBackend  # noqa: E402


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        materials = json.load(f)
    backend = BuiltinBackend()
    backend.load()
    print(json.dumps({"detector": backend.detector, "version": backend.version}), flush=True)
    for m in materials:
        width, height = m["width"], m["height"]
        raw = np.fromfile(m["path"], dtype=np.uint8)
        frames = raw.reshape(-1, height, width, 3)
        backend.detect(frames[0])  # the first call warms caches and kernels up
        found = []
        calls = 0
        started = time.perf_counter()
        for p in range(m["passes"]):
            for frame in frames:
                boxes, scores, weak, _ = backend.detect(frame)
                calls += 1
                if p == 0:
                    found.append([[*map(float, b), float(s), bool(w)] for b, s, w in zip(boxes, scores, weak)])
        seconds = time.perf_counter() - started
        print(json.dumps({"name": m["name"], "frames": found, "seconds": seconds, "calls": calls}), flush=True)
    if backend._node is not None:
        backend._node.close()


if __name__ == "__main__":
    main()
