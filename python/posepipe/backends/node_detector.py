"""The neural person detector the builtin backend can use: CenterNet, run by posepipe's own Node
(src/detector/serve.ts, on TensorFlow.js's WASM backend, from weights installed with npm). The
worker starts it once, at load, as a child in the worker's own process group (a kill of the group
ends it too; so does the worker's exit, which closes its stdin) and sends it each frame; it answers the people's boxes. posepipe hands the worker the command
line in POSEPIPE_DETECTOR_COMMAND (a JSON array, run without a shell).
"""

import json
import os
import struct
import subprocess
import threading
from typing import Any, List, Optional, Tuple

from ..errors import EnvironmentProblem

# The side of the square picture CenterNet looks at (src/detector/people.ts INPUT_SIZE).
INPUT_SIZE = 512
# A person's crop for the keypoint model is a square this many times the box's longer side, centred
# on the box: CenterNet's boxes are tight, and MoveNet wants the whole body with some room around it.
CROP_MARGIN = 1.25


class NodeDetector:
    """One detector helper process; `detect` is safe to call from several threads (one at a time)."""

    def __init__(self, keypoints: bool = False) -> None:
        raw = os.environ.get("POSEPIPE_DETECTOR_COMMAND", "")
        try:
            command = json.loads(raw)
        except ValueError:
            command = None
        if not (isinstance(command, list) and command and all(isinstance(a, str) for a in command)):
            raise EnvironmentProblem(
                "POSEPIPE_DETECTOR_COMMAND is not set to the detector's command line: the builtin "
                "backend's centernet detector runs only under posepipe")
        if keypoints:
            command = command + ["--keypoints"]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._lock = threading.Lock()
        hello = self._answer()
        if "ready" not in hello:
            self.close()
            raise EnvironmentProblem(f"the person detector did not start: {hello.get('error', hello)}")
        self.info = hello["ready"]
        self.crop_size = int(self.info["keypoints"]["crop"]) if keypoints else 0

    def _answer(self) -> Any:
        line = self._process.stdout.readline() if self._process.stdout else b""
        if not line:
            code = self._process.wait()
            raise EnvironmentProblem(f"the person detector exited with code {code} (its stderr is in worker.log)")
        answer = json.loads(line)
        if "error" in answer and "ready" not in answer and "boxes" not in answer and "keypoints" not in answer:
            raise RuntimeError(f"the person detector refused a request: {answer['error']}")
        return answer

    def detect(self, cv2: Any, bgr: Any, tiles: int = 1) -> Tuple[List[List[float]], List[float]]:
        """Boxes (x, y, w, h in the frame's pixels) and scores of the people in a BGR frame
        (height x width x 3 uint8), highest score first. The frame is resized to the model's input
        here, with OpenCV, so a quarter or less of its bytes cross the pipe. With `tiles` 2 the
        model looks at the left and the right part of the frame (overlapping by an eighth of its
        width) one after the other, each with more pixels a person; the caller's NMS merges a
        person seen in both."""
        height, width = bgr.shape[:2]
        side = INPUT_SIZE
        if tiles == 1:
            parts = [(0, width)]
        else:
            part = round(width * 9 / 16)
            parts = [(0, part), (width - part, width)]
        found: List[Tuple[float, List[float]]] = []
        with self._lock:
            for x0, x1 in parts:
                crop = bgr[:, x0:x1]
                small = stretch_dark(cv2, cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA))
                rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
                assert self._process.stdin is not None
                self._process.stdin.write(struct.pack("<II", side, side))
                self._process.stdin.write(rgb.tobytes())
                self._process.stdin.flush()
                answer = self._answer()
                sx, sy = (x1 - x0) / side, height / side
                found += [(b[4], [x0 + b[0] * sx, b[1] * sy, (b[2] - b[0]) * sx, (b[3] - b[1]) * sy]) for b in answer["boxes"]]
        found.sort(key=lambda f: -f[0])
        return [f[1] for f in found], [f[0] for f in found]

    def keypoints(self, cv2: Any, np: Any, bgr: Any, boxes: Any) -> Any:
        """The 17 COCO keypoints of the person in each box (N,4 x, y, w, h in the frame's pixels) of a
        BGR frame: float32 (N,17,3) of x, y in the frame's pixels and MoveNet's score (0..1)."""
        out = np.zeros((len(boxes), 17, 3), dtype=np.float32)
        if len(boxes) == 0:
            return out
        side = self.crop_size
        crops, corners = [], []
        for box in boxes:
            crop, corner = square_crop(cv2, np, bgr, box, side)
            crops.append(crop)
            corners.append(corner)
        rgb = np.ascontiguousarray(np.stack(crops)[..., ::-1])
        with self._lock:
            assert self._process.stdin is not None
            self._process.stdin.write(struct.pack("<III", 0, len(boxes), side))
            self._process.stdin.write(rgb.tobytes())
            self._process.stdin.flush()
            answer = self._answer()
        points = np.asarray(answer["keypoints"], dtype=np.float64).reshape(len(boxes), 17, 3)
        corner = np.asarray(corners, dtype=np.float64).reshape(len(boxes), 3)
        # The model's (y, x) run from 0 to 1 across the crop's square, which starts at (x0, y0) and
        # is `extent` frame pixels wide.
        out[:, :, 0] = corner[:, 0:1] + points[:, :, 1] * corner[:, 2:3]
        out[:, :, 1] = corner[:, 1:2] + points[:, :, 0] * corner[:, 2:3]
        out[:, :, 2] = points[:, :, 2]
        return out

    def close(self) -> None:
        """Close its stdin (it exits) and reap it."""
        process: Optional[subprocess.Popen] = getattr(self, "_process", None)
        if process is None:
            return
        try:
            if process.stdin:
                process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# A picture whose brightest 0.5% is darker than this is stretched to the full range before detection.
DARK_TOP = 200


def stretch_dark(cv2: Any, picture: Any) -> Any:
    """The picture (uint8), scaled so its brightest 0.5% reaches 255 when they are darker than
    DARK_TOP: CenterNet, trained on daylight photos, misses people in dark footage (on a street
    material at a third of the light, 88% found before, 98% after; pictures with any bright part are
    left as they are)."""
    import numpy as np
    top = float(np.percentile(picture, 99.5))
    if top >= DARK_TOP:
        return picture
    return cv2.convertScaleAbs(picture, alpha=255.0 / max(top, 16.0))


def square_crop(cv2: Any, np: Any, bgr: Any, box: Any, side: int) -> Tuple[Any, Tuple[int, int, int]]:
    """A side x side BGR crop of the square CROP_MARGIN times the box's longer side around its
    centre, black where the square leaves the frame, and the square's (x0, y0, extent) in frame pixels."""
    height, width = bgr.shape[:2]
    x, y, w, h = (float(v) for v in box)
    extent = max(2, int(round(max(w, h) * CROP_MARGIN)))
    x0 = int(round(x + w / 2 - extent / 2))
    y0 = int(round(y + h / 2 - extent / 2))
    cx0, cy0 = max(0, x0), max(0, y0)
    cx1, cy1 = min(width, x0 + extent), min(height, y0 + extent)
    if cx1 <= cx0 or cy1 <= cy0:  # the box lies outside the frame: nothing to see
        return np.zeros((side, side, 3), dtype=np.uint8), (x0, y0, extent)
    piece = bgr[cy0:cy1, cx0:cx1]
    if (cx0, cy0, cx1, cy1) != (x0, y0, x0 + extent, y0 + extent):
        piece = cv2.copyMakeBorder(piece, cy0 - y0, y0 + extent - cy1, cx0 - x0, x0 + extent - cx1,
                                   cv2.BORDER_CONSTANT, value=(0, 0, 0))
    shrink = extent > side
    crop = cv2.resize(piece, (side, side), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return crop, (x0, y0, extent)
