"""Decoding a request's inputs with cv2.VideoCapture, frames in display order, counted as decoded.

A request lists several files (the previous chunk, whose tail is the overlap, then this chunk);
each input's first `start` frames are decoded but not tracked, and an input with a `count` gives
only its next `count` frames (decoding stops there; a file too short for start + count is bad
input). Counting by decoding is the only exact count for real files (variable frame rates,
B-frames, broken headers).
"""

import json
import os
from typing import Any, Callable, Dict, Iterator, List, Optional

import cv2
import numpy as np

from .errors import InputError


class ChunkFrames:
    """The frames of one request: iterate once for the frames to track, then call finish()."""

    def __init__(self, inputs: List[Dict[str, Any]], frame_count: int, tick: Callable[[int], None]) -> None:
        self._inputs = inputs
        self._frame_count = frame_count
        # Called with the frames tracked so far for every skipped frame, so long skips still send
        # progress (without advancing it: no frame is tracked while skipping).
        self._tick = tick
        self._decoded = [0 for _ in inputs]
        self.width: Optional[int] = None
        self.height: Optional[int] = None
        self.tracked = 0
        self._all = self._decode()

    def __iter__(self) -> Iterator[np.ndarray]:
        # Stop at frame_count so the backend never sees frames beyond the chunk; finish() counts the rest.
        while self.tracked < self._frame_count:
            frame = next(self._all, None)
            if frame is None:
                return
            self.tracked += 1
            yield frame

    def finish(self) -> None:
        """Decode whatever the backend did not take and raise InputError if the count is wrong."""
        extra = 0
        for _ in self._all:
            extra += 1
        self.tracked += extra
        if self.tracked != self._frame_count:
            detail = ", ".join(
                f"{json_path(item['path'])}: {count} frames decoded, first {item['start']} skipped"
                + (f", next {item['count']} taken" if "count" in item else "")
                for item, count in zip(self._inputs, self._decoded))
            raise InputError(f"{json_path(self._inputs[-1]['path'])}: {self.tracked} frames to track "
                             f"after skipping, expected {self._frame_count} ({detail})")

    def _decode(self) -> Iterator[np.ndarray]:
        for index, item in enumerate(self._inputs):
            path, start, count = item["path"], item["start"], item.get("count")
            # Where this input ends for us: everything decoded after that is not ours to track.
            end = None if count is None else start + count
            if not os.path.isfile(path):
                raise InputError(f"{json_path(path)}: no such file")
            # CAP_FFMPEG only: the image-sequence backend would read "%d" in a name as a pattern.
            capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
            try:
                if not capture.isOpened():
                    raise InputError(f"{json_path(path)}: cannot open as a video")
                while end is None or self._decoded[index] < end:
                    ok, frame = capture.read()
                    if not ok or frame is None:
                        break
                    self._decoded[index] += 1
                    if self.width is None:
                        self.height, self.width = int(frame.shape[0]), int(frame.shape[1])
                    if self._decoded[index] <= start:
                        self._tick(self.tracked)
                        continue
                    yield frame
                if self._decoded[index] == 0 and end != 0:
                    raise InputError(f"{json_path(path)}: no frames could be decoded")
                if end is not None and self._decoded[index] < end:
                    raise InputError(f"{json_path(path)}: only {self._decoded[index]} frames decoded, fewer than "
                                     f"start {start} + count {count} = {end}")
            finally:
                capture.release()


def json_path(path: str) -> str:
    """A path quoted as JSON text, so hostile names (quotes, newlines) stay readable in messages."""
    return json.dumps(path, ensure_ascii=True)
