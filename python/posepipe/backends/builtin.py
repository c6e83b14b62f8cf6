"""The builtin backend: a people detector on the CPU, CenterNet (a neural detector installed with
posepipe's npm packages, run by its Node: node_detector.py) or OpenCV's HOG, plus a SORT tracker
with a second pass for weak detections and an appearance cue (posepipe/sort.py).

Runs anywhere numpy and OpenCV 4 exist, on the CPU. Configuration, read from the environment
once at load():

  POSEPIPE_BUILTIN_DETECTOR      centernet (default) or hog
  POSEPIPE_BUILTIN_MIN_SCORE     centernet: boxes scoring at least this match tracks and start
                                 them (default 0.3)
  POSEPIPE_BUILTIN_LOW_SCORE     centernet: boxes from this up to MIN_SCORE are weak detections, as
                                 LOW_WEIGHT's for HOG (default 0.15). Boxes wider than tall are
                                 dropped (a person standing or walking is taller than wide)
  POSEPIPE_BUILTIN_TILES         centernet: 1 (default) looks at the whole frame at once; 2 looks at
                                 its left and right parts (overlapping) one after the other, for
                                 crowds of small people, at half the speed
  POSEPIPE_BUILTIN_KEYPOINTS     1: every person row also gets 17 COCO keypoints, the extra
                                 `keypoints2d` as the keypoints backend writes it, float32 (17, 3):
                                 x, y in frame pixels and MoveNet's score, its confidence (0..1)
                                 that the keypoint is where it says (the player draws a limb when
                                 both ends score 0.3 or more). MoveNet Lightning, in the detector's
                                 helper, looks at a square crop of the full frame around each
                                 detection. Needs the centernet detector (with hog it is an
                                 environment error). 0: none (default)

The HOG detector's settings:

  POSEPIPE_BUILTIN_DETECT_WIDTH  frames wider than this are downscaled to it for detection;
                                 boxes are scaled back to full-resolution pixels (default 640)
  POSEPIPE_BUILTIN_MIN_PERSON    frames narrower than DETECT_WIDTH are upscaled for detection so
                                 that people this many pixels tall fill HOG's 128-pixel window
                                 (default 48; at most to twice DETECT_WIDTH; 0: never upscale)
  POSEPIPE_BUILTIN_MIN_WEIGHT    HOG windows whose SVM margin is at least this are detections that
                                 match tracks and start them (default 0.3)
  POSEPIPE_BUILTIN_LOW_WEIGHT    windows with a margin from this up to MIN_WEIGHT are weak
                                 detections: they only continue a track the confident ones left
                                 unmatched in that frame, or lead up to a track's first detection,
                                 and never start one (ByteTrack's second pass; default 0, every
                                 window HOG reports; MIN_WEIGHT or more: no weak detections)
  POSEPIPE_BUILTIN_NMS_IOU       overlap above which the weaker of two boxes is dropped (default 0.4)
  POSEPIPE_BUILTIN_IOU           minimum IoU to match a detection to a track (default 0.2)
  POSEPIPE_BUILTIN_APPEARANCE    weight (0..1) of the appearance distance in the association cost,
                                 (1 - w) * (1 - IoU) + w * distance (default 0.5; 0: IoU alone).
                                 Appearance: HSV histograms (8 hue x 3 saturation x 3 value bins) of
                                 the middle of the box's upper and lower halves (clothes), kept per
                                 track as a running average, compared by Bhattacharyya distance
  POSEPIPE_BUILTIN_MAX_AGE       frames a track survives without a match (default 50); until then
                                 it is looked for at its Kalman prediction and where it was last seen
  POSEPIPE_BUILTIN_MIN_HITS      matched frames before a track is kept (default 5)
  POSEPIPE_BUILTIN_THREADS       frames detected at once (default: the CPU count). Each frame's HOG
                                 runs single-threaded (cv2.setNumThreads(1)) in its own thread and
                                 the tracker takes the results in frame order: OpenCV's own parallel
                                 HOG sums detection weights in a varying order, so its scores differ
                                 from run to run, while this keeps the output a pure function of the
                                 video whatever the thread count

CenterNet's boxes are tight around the person; its score is the model's (0..1). HOG's boxes are
the HOG window (x, y, w, h), which includes a margin of about 1/8 of the width on each
side of the person. score = 1 - exp(-margin): 0 at the SVM's decision boundary, towards 1 for
confident windows (MIN_WEIGHT 0.3 is a score of 0.26).
"""

import functools
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Deque, Dict, Iterable, List, Optional, Tuple

from ..errors import EnvironmentProblem

VERSION = "1.2.0"
# The default people detector's window is 64x128 pixels: smaller people are not found.
HOG_WINDOW_HEIGHT = 128
HOG_MISSING = "OpenCV 5 removed HOGDescriptor: install opencv-python-headless<5"


def _env_number(name: str, default: float, minimum: float, integer: bool = False,
                maximum: Optional[float] = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise EnvironmentProblem(f"{name}={raw!r} is not a {'whole ' if integer else ''}number") from None
    if value < minimum:
        raise EnvironmentProblem(f"{name}={raw!r} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise EnvironmentProblem(f"{name}={raw!r} must be at most {maximum}")
    return value


def _env_flag(name: str) -> bool:
    raw = os.environ.get(name, "")
    if raw not in ("", "0", "1"):
        raise EnvironmentProblem(f"{name}={raw!r} must be 0 or 1")
    return raw == "1"


class BuiltinBackend:
    """CenterNet (or HOG) detection, NMS, then SORT association; CPU only."""

    name = "builtin"
    device = "cpu"

    def __init__(self) -> None:
        self.version = VERSION

    def checks(self) -> List[Dict[str, Any]]:
        out: List[Dict[str, Any]] = []
        try:
            import numpy
            out.append({"name": "numpy", "ok": True, "detail": numpy.__version__})
        except ImportError as e:
            out.append({"name": "numpy", "ok": False, "detail": f"cannot import numpy: {e}"})
        try:
            import cv2
            out.append({"name": "opencv", "ok": True, "detail": cv2.__version__})
            ok = hasattr(cv2, "HOGDescriptor")
            needed = (os.environ.get("POSEPIPE_BUILTIN_DETECTOR", "") or "centernet") == "hog"
            out.append({"name": "opencv-hog", "ok": ok or not needed,
                        "detail": "HOGDescriptor with the default people detector" if ok
                        else HOG_MISSING if needed else "no HOGDescriptor: only POSEPIPE_BUILTIN_DETECTOR=hog needs it"})
        except ImportError as e:
            out.append({"name": "opencv", "ok": False, "detail": f"cannot import cv2: {e}"})
        return out

    def load(self) -> None:
        import cv2  # noqa: F401  ImportError is reported by the worker as an environment error
        import numpy as np
        self.detector = os.environ.get("POSEPIPE_BUILTIN_DETECTOR", "") or "centernet"
        if self.detector not in ("hog", "centernet"):
            raise EnvironmentProblem(f"POSEPIPE_BUILTIN_DETECTOR={self.detector!r} must be hog or centernet")
        if self.detector == "hog" and not hasattr(cv2, "HOGDescriptor"):
            raise EnvironmentProblem(f"{HOG_MISSING} (found OpenCV {cv2.__version__})")
        self._cv2, self._np = cv2, np
        self.detect_width = int(_env_number("POSEPIPE_BUILTIN_DETECT_WIDTH", 640, 64, integer=True))
        self.min_person = _env_number("POSEPIPE_BUILTIN_MIN_PERSON", 48, 0)
        self.min_weight = _env_number("POSEPIPE_BUILTIN_MIN_WEIGHT", 0.3, 0.0)
        self.low_weight = _env_number("POSEPIPE_BUILTIN_LOW_WEIGHT", 0.0, 0.0)
        self.nms_iou = _env_number("POSEPIPE_BUILTIN_NMS_IOU", 0.4, 0.0)
        self.iou = _env_number("POSEPIPE_BUILTIN_IOU", 0.2, 0.0)
        self.appearance = _env_number("POSEPIPE_BUILTIN_APPEARANCE", 0.5, 0.0, maximum=1.0)
        self.max_age = int(_env_number("POSEPIPE_BUILTIN_MAX_AGE", 50, 0, integer=True))
        self.min_hits = int(_env_number("POSEPIPE_BUILTIN_MIN_HITS", 5, 1, integer=True))
        self.threads = int(_env_number("POSEPIPE_BUILTIN_THREADS", os.cpu_count() or 1, 1, integer=True))
        cv2.setNumThreads(1)
        self._local = threading.local()
        self.version = f"{VERSION} (opencv {cv2.__version__})"
        self._node = None
        self.keypoints = _env_flag("POSEPIPE_BUILTIN_KEYPOINTS")
        if self.keypoints and self.detector != "centernet":
            raise EnvironmentProblem(f"POSEPIPE_BUILTIN_KEYPOINTS=1 needs POSEPIPE_BUILTIN_DETECTOR=centernet "
                                     f"(the keypoint model runs in its helper), not {self.detector}")
        if self.detector == "centernet":
            self.min_score = _env_number("POSEPIPE_BUILTIN_MIN_SCORE", 0.3, 0.0, maximum=1.0)
            self.low_score = _env_number("POSEPIPE_BUILTIN_LOW_SCORE", 0.15, 0.0, maximum=1.0)
            self.tiles = int(_env_number("POSEPIPE_BUILTIN_TILES", 1, 1, integer=True, maximum=2))
            from .node_detector import NodeDetector
            self._node = NodeDetector(keypoints=self.keypoints)
            # One helper process detects one frame at a time; the next frame is decoded meanwhile.
            self.threads = 1
            info = self._node.info
            self.version = f"{VERSION} (opencv {cv2.__version__}, {info['model']} {info['version']} on {info['backend']})"
            if self.keypoints:
                self.version = self.version[:-1] + f", keypoints by {info['keypoints']['model']})"

    def detect(self, frame: Any) -> Tuple[Any, Any, Any, Optional[Any]]:
        """Person boxes (N,4 float64 x,y,w,h in full-resolution pixels), scores (N,), which of them
        are weak (N, bool) and their appearance histograms (N,K; None when APPEARANCE is 0)."""
        if self._node is not None:
            return self._detect_centernet(frame)
        cv2, np = self._cv2, self._np
        height, width = frame.shape[:2]
        factor = 1.0
        small = frame
        if width > self.detect_width:
            factor = width / self.detect_width
            small = cv2.resize(frame, (self.detect_width, max(1, round(height / factor))),
                               interpolation=cv2.INTER_AREA)
        elif self.min_person > 0 and width < self.detect_width:
            # Small frames hold small people: HOG's window is 128 pixels tall, so search a larger
            # picture, enough for people min_person tall (and no wider than twice detect_width).
            up = min(HOG_WINDOW_HEIGHT / self.min_person, 2 * self.detect_width / width)
            if up > 1:
                factor = 1 / up
                small = cv2.resize(frame, (round(width * up), max(1, round(height * up))),
                                   interpolation=cv2.INTER_LINEAR)
        hog = getattr(self._local, "hog", None)
        if hog is None:  # one detector per thread: nothing shared between concurrent frames
            hog = self._local.hog = cv2.HOGDescriptor()
            hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        rects, weights = hog.detectMultiScale(small, winStride=(8, 8), padding=(8, 8),
                                                    scale=1.05, groupThreshold=2)
        boxes = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
        margins = np.asarray(weights, dtype=np.float64).reshape(-1)
        # Threads return windows in any order: sort so NMS and the tracker see one order.
        order = np.lexsort((boxes[:, 3], boxes[:, 2], boxes[:, 1], boxes[:, 0], -margins))
        boxes, margins = boxes[order], margins[order]
        keep = margins >= min(self.low_weight, self.min_weight)
        boxes, margins = boxes[keep], margins[keep]
        # Sorted by margin, so a weak box never suppresses a confident one.
        kept = _nms(np, boxes, self.nms_iou)
        boxes, margins = boxes[kept], margins[kept]
        features = None
        if self.appearance > 0:
            features = np.array([appearance_histogram(cv2, np, small, box) for box in boxes])
            features = features.reshape(len(boxes), HISTOGRAM_SIZE)
        return boxes * factor, 1.0 - np.exp(-margins), margins < self.min_weight, features

    def _detect_centernet(self, frame: Any) -> Tuple[Any, Any, Any, Optional[Any]]:
        cv2, np = self._cv2, self._np
        found, scores = self._node.detect(cv2, frame, self.tiles)
        boxes = np.asarray(found, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        keep = (scores >= min(self.low_score, self.min_score)) & (boxes[:, 2] <= boxes[:, 3])
        boxes, scores = boxes[keep], scores[keep]
        kept = _nms(np, boxes, self.nms_iou)  # highest score first, as the helper sends them
        boxes, scores = boxes[kept], scores[kept]
        features = None
        if self.appearance > 0:
            features = np.array([appearance_histogram(cv2, np, frame, box) for box in boxes])
            features = features.reshape(len(boxes), HISTOGRAM_SIZE)
        return boxes, scores, scores < self.min_score, features

    def track(self, frames: Iterable[Any]) -> Tuple[Any, Any, Any, Any, Dict[str, Any]]:
        from ..sort import Sort
        tracker = Sort(self.iou, self.max_age, self.min_hits, self.appearance)
        step = tracker.step
        found: Dict[Tuple[int, bytes, bytes], List[Any]] = {}
        if self.keypoints:
            step = functools.partial(self._step_with_keypoints, tracker.step, found)
        # Detect several frames at once (HOG releases the GIL), at most 2 per thread in flight so
        # memory stays bounded; the tracker steps through the results in frame order.
        pending: Deque[Tuple[int, Any]] = deque()
        with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="hog") as pool:
            for index, frame in enumerate(frames):
                pending.append((index, pool.submit(self._detect_with_keypoints if self.keypoints else self.detect, frame)))
                if len(pending) >= 2 * self.threads:
                    done_index, future = pending.popleft()
                    step(done_index, *future.result())
            while pending:
                done_index, future = pending.popleft()
                step(done_index, *future.result())
        frame_idx, track, bbox, score = tracker.rows()
        if not self.keypoints:
            return frame_idx, track, bbox, score, {}
        from .keypoints_model import keypoints_for_rows
        return frame_idx, track, bbox, score, {"keypoints2d": keypoints_for_rows(frame_idx, bbox, score, found)}

    def _detect_with_keypoints(self, frame: Any) -> Tuple[Any, ...]:
        """detect(), plus every detection's keypoints (N,17,3 float32) from the frame's crops."""
        boxes, scores, weak, features = self.detect(frame)
        return boxes, scores, weak, features, self._node.keypoints(self._cv2, self._np, frame, boxes)

    def _step_with_keypoints(self, step: Any, found: Dict[Tuple[int, bytes, bytes], List[Any]], index: int,
                             boxes: Any, scores: Any, weak: Any, features: Any, points: Any) -> None:
        """Remember each detection's keypoints by the key its row will have, then track the frame:
        every row the tracker gives is one of its detections (sort.py keeps real observations only)."""
        from .keypoints_model import row_key
        for box, score, one in zip(boxes, scores, points):
            found.setdefault(row_key(index, box, score), []).append(one)
        step(index, boxes, scores, weak, features)


# Where the clothes are inside a HOG window (fractions of its width and height): the middle 40% of
# the width, leaving out the margin and most background, and the upper and lower body.
_CLOTHES_X = (0.3, 0.7)
_CLOTHES_Y = ((0.15, 0.5), (0.5, 0.85))
# Hue, saturation, value bins of each part's histogram.
_HSV_BINS = (8, 3, 3)
_PART_SIZE = _HSV_BINS[0] * _HSV_BINS[1] * _HSV_BINS[2]
# Length of an appearance histogram: the parts' histograms one after the other.
HISTOGRAM_SIZE = len(_CLOTHES_Y) * _PART_SIZE


def appearance_histogram(cv2: Any, np: Any, image: Any, box: Any) -> Any:
    """The appearance of the person in `box` (x, y, w, h in `image`'s pixels): one HSV histogram per
    body part (_CLOTHES_Y), each summing to 1/parts, so the whole sums to 1. Integer counts from
    OpenCV, so the same pixels always give the same floats."""
    height, width = image.shape[:2]
    x, y, w, h = box
    x0, x1 = max(0, int(round(x + _CLOTHES_X[0] * w))), min(width, int(round(x + _CLOTHES_X[1] * w)))
    parts = []
    for top, bottom in _CLOTHES_Y:
        y0, y1 = max(0, int(round(y + top * h))), min(height, int(round(y + bottom * h)))
        if x1 <= x0 or y1 <= y0:  # the part is outside the picture: it tells nothing
            parts.append(np.full(_PART_SIZE, 1.0 / _PART_SIZE))
            continue
        hsv = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_BGR2HSV)
        counts = cv2.calcHist([hsv], [0, 1, 2], None, list(_HSV_BINS), [0, 180, 0, 256, 0, 256])
        counts = counts.reshape(-1).astype(np.float64)
        parts.append(counts / counts.sum())
    return np.concatenate(parts) / len(parts)


def _nms(np: Any, boxes: Any, threshold: float) -> List[int]:
    """Greedy NMS over boxes already sorted by confidence; also drops boxes mostly inside a kept one
    (HOG often fires on a person's upper body inside their full-body window)."""
    kept: List[int] = []
    for i in range(len(boxes)):
        x, y, w, h = boxes[i]
        suppressed = False
        for k in kept:
            kx, ky, kw, kh = boxes[k]
            iw = max(0.0, min(x + w, kx + kw) - max(x, kx))
            ih = max(0.0, min(y + h, ky + kh) - max(y, ky))
            inter = iw * ih
            union = w * h + kw * kh - inter
            if inter / union > threshold or inter / min(w * h, kw * kh) > 0.8:
                suppressed = True
                break
        if not suppressed:
            kept.append(i)
    return kept
