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


class NodeDetector:
    """One detector helper process; `detect` is safe to call from several threads (one at a time)."""

    def __init__(self) -> None:
        raw = os.environ.get("POSEPIPE_DETECTOR_COMMAND", "")
        try:
            command = json.loads(raw)
        except ValueError:
            command = None
        if not (isinstance(command, list) and command and all(isinstance(a, str) for a in command)):
            raise EnvironmentProblem(
                "POSEPIPE_DETECTOR_COMMAND is not set to the detector's command line: the builtin "
                "backend's centernet detector runs only under posepipe")
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._lock = threading.Lock()
        hello = self._answer()
        if "ready" not in hello:
            self.close()
            raise EnvironmentProblem(f"the person detector did not start: {hello.get('error', hello)}")
        self.info = hello["ready"]

    def _answer(self) -> Any:
        line = self._process.stdout.readline() if self._process.stdout else b""
        if not line:
            code = self._process.wait()
            raise EnvironmentProblem(f"the person detector exited with code {code} (its stderr is in worker.log)")
        answer = json.loads(line)
        if "error" in answer and "ready" not in answer and "boxes" not in answer:
            raise RuntimeError(f"the person detector refused a frame: {answer['error']}")
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
                rgb = cv2.cvtColor(cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
                assert self._process.stdin is not None
                self._process.stdin.write(struct.pack("<II", side, side))
                self._process.stdin.write(rgb.tobytes())
                self._process.stdin.flush()
                answer = self._answer()
                sx, sy = (x1 - x0) / side, height / side
                found += [(b[4], [x0 + b[0] * sx, b[1] * sy, (b[2] - b[0]) * sx, (b[3] - b[1]) * sy]) for b in answer["boxes"]]
        found.sort(key=lambda f: -f[0])
        return [f[1] for f in found], [f[0] for f in found]

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
