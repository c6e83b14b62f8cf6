"""The out-of-memory path and the assembly of rows, with a stand-in for the model's forward pass:
real out-of-memory cannot happen on a CPU, so the stand-in raises torch's own exception type
(the contract) for passes above a size; everything else is the real code."""

import os
import sys
import unittest
from typing import Any, Dict, List, Sequence

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from posepipe.backends.keypoints import FrameCap, KeypointsBackend  # noqa: E402
from posepipe.errors import is_oom  # noqa: E402
from posepipe.backends.keypoints_config import read_settings  # noqa: E402
from posepipe.backends.keypoints_model import detections  # noqa: E402
from posepipe.errors import kind_of  # noqa: E402


class FakeForward:
    """Doubles each frame number; runs out of memory on passes of more than `fits` frames."""

    def __init__(self, fits: int, error: Any = None) -> None:
        self.fits = fits
        self.error = error or (lambda n: torch.cuda.OutOfMemoryError(f"CUDA out of memory. Tried to allocate {n} GiB"))
        self.passes: List[int] = []

    def __call__(self, frames: Sequence[int]) -> List[int]:
        self.passes.append(len(frames))
        if len(frames) > self.fits:
            raise self.error(len(frames))
        return [2 * f for f in frames]


class Cap:
    def __init__(self, cap: int) -> None:
        self.logs: List[str] = []
        self.emptied = 0
        self.cap = FrameCap(cap, self.empty, lambda: "cuda:0, 10 MB free of 80 GB", self.logs.append)

    def empty(self) -> None:
        self.emptied += 1


class OutOfMemory(unittest.TestCase):
    def test_cap_halves_until_a_pass_fits_and_the_same_frames_are_retried(self) -> None:
        c, forward = Cap(8), FakeForward(fits=2)
        self.assertEqual(c.cap.run(list(range(10)), forward), [2 * i for i in range(10)])
        self.assertEqual(c.logs, ["keypoints: out of memory at batch 8; batch cap now 4",
                                  "keypoints: out of memory at batch 4; batch cap now 2"])
        self.assertEqual(forward.passes, [8, 4, 2, 2, 2, 2, 2])
        self.assertEqual((c.cap.cap, c.emptied), (2, 2))

    def test_the_cap_that_worked_is_kept_for_the_next_request(self) -> None:
        c = Cap(8)
        c.cap.run(list(range(8)), FakeForward(fits=2))
        forward = FakeForward(fits=2)
        self.assertEqual(c.cap.run(list(range(5)), forward), [0, 2, 4, 6, 8])
        self.assertEqual(forward.passes, [2, 2, 1])
        self.assertEqual(len(c.logs), 2)

    def test_a_short_last_pass_halves_from_its_own_size(self) -> None:
        c, forward = Cap(8), FakeForward(fits=1)
        self.assertEqual(c.cap.run([1, 2, 3], forward), [2, 4, 6])
        self.assertEqual(c.logs, ["keypoints: out of memory at batch 3; batch cap now 1"])

    def test_runtime_error_saying_out_of_memory_counts(self) -> None:
        c = Cap(4)
        forward = FakeForward(fits=1, error=lambda n: RuntimeError("CUDA error: out of memory"))
        self.assertEqual(c.cap.run([1, 2], forward), [2, 4])
        self.assertEqual(c.cap.cap, 1)

    def test_a_single_frame_out_of_memory_is_a_memory_error_of_kind_oom(self) -> None:
        c = Cap(2)
        with self.assertRaises(MemoryError) as caught:
            c.cap.run([1, 2], FakeForward(fits=0))
        self.assertEqual(kind_of(caught.exception), "oom")
        self.assertIn("out of memory on a single frame (cuda:0, 10 MB free of 80 GB)", str(caught.exception))
        self.assertEqual(c.logs, ["keypoints: out of memory at batch 2; batch cap now 1"])
        self.assertEqual(c.emptied, 2)

    def test_other_errors_pass_through_and_leave_the_cap(self) -> None:
        c = Cap(4)
        with self.assertRaisesRegex(RuntimeError, "^shape mismatch$"):
            c.cap.run([1, 2], FakeForward(fits=0, error=lambda n: RuntimeError("shape mismatch")))
        self.assertEqual((c.cap.cap, c.logs, c.emptied), (4, [], 0))

    def test_is_oom(self) -> None:
        self.assertTrue(is_oom(torch.cuda.OutOfMemoryError("x")))
        self.assertTrue(is_oom(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")))
        self.assertFalse(is_oom(RuntimeError("expected scalar type Float")))
        self.assertFalse(is_oom(ValueError("out of memory")))


def output(boxes: List[List[float]], scores: List[float], labels: List[int]) -> Dict[str, np.ndarray]:
    """A model output like torchvision's: keypoints spread over each box, scores = index."""
    b = np.array(boxes, dtype=np.float32).reshape(-1, 4)
    kp = np.zeros((len(b), 17, 3), dtype=np.float32)
    for i, (x1, y1, x2, y2) in enumerate(b):
        kp[i, :, 0] = np.linspace(x1, x2, 17)
        kp[i, :, 1] = np.linspace(y1, y2, 17)
        kp[i, :, 2] = 1.0  # torchvision's constant visibility, replaced by the keypoint scores
    return {"boxes": b, "scores": np.array(scores, dtype=np.float32), "labels": np.array(labels, dtype=np.int64),
            "keypoints": kp, "keypoints_scores": np.tile(np.arange(17, dtype=np.float32), (len(b), 1))}


class Rows(unittest.TestCase):
    def test_detections_are_persons_above_the_score_as_xywh_with_keypoint_scores(self) -> None:
        out = output([[10, 20, 50, 120], [0, 0, 5, 5], [200, 30, 260, 150]], [0.9, 0.95, 0.4], [1, 2, 1])
        boxes, scores, kp = detections(out, 0.5)
        np.testing.assert_array_equal(boxes, [[10, 20, 40, 100]])
        np.testing.assert_allclose(scores, [0.9], rtol=1e-6)
        self.assertEqual((kp.shape, kp.dtype), ((1, 17, 3), np.float32))
        np.testing.assert_array_equal(kp[0, :, 2], np.arange(17))
        self.assertEqual((kp[0, 0, 0], kp[0, 16, 1]), (10, 120))

    def test_boxes_under_a_pixel_wide_or_high_are_dropped(self) -> None:
        # Seen with random weights at the right edge of a 320-px frame: a 0.03-px box whose
        # keypoints torchvision put at x 321.5.
        out = output([[319.96, 0, 319.99, 109.5], [10, 20, 50, 20.5], [10, 20, 11, 21]], [0.5, 0.6, 0.7], [1, 1, 1])
        boxes, scores, kp = detections(out, 0)
        np.testing.assert_array_equal(boxes, [[10, 20, 1, 1]])
        np.testing.assert_allclose(scores, [0.7], rtol=1e-6)
        self.assertEqual(kp.shape, (1, 17, 3))

    def test_track_returns_builtin_columns_plus_keypoints_of_each_rows_own_detection(self) -> None:
        backend = KeypointsBackend()
        backend.settings = read_settings({"POSEPIPE_KEYPOINTS_MIN_HITS": "2"})
        backend.batches = FrameCap(3, lambda: None, lambda: "cpu", lambda line: None)
        frames = list(range(7))
        forward = FakeForward(fits=3)

        def fake(batch: List[int]) -> List[Dict[str, np.ndarray]]:
            forward(batch)
            # Two people walking right, a third shape that is not a person, one weak detection.
            return [output([[10 + 5 * f, 20, 50 + 5 * f, 120], [300 - 4 * f, 40, 360 - 4 * f, 200], [0, 0, 9, 9], [500, 5, 520, 40]],
                           [0.9, 0.8, 0.99, 0.1], [1, 1, 3, 1]) for f in batch]

        backend._forward = fake  # type: ignore[method-assign]
        frame, track, bbox, score, extras = backend.track(iter(frames))
        self.assertEqual(forward.passes, [3, 3, 1])
        self.assertEqual(sorted(extras), ["keypoints2d"])
        kp = extras["keypoints2d"]
        self.assertEqual((kp.shape, kp.dtype), ((14, 17, 3), np.float32))
        self.assertEqual(sorted(set(track.tolist())), [1, 2])
        for i in range(len(frame)):
            x, y, w, h = bbox[i]
            self.assertEqual((kp[i, 0, 0], kp[i, 0, 1], kp[i, 16, 0], kp[i, 16, 1]), (x, y, x + w, y + h))
        left = track == track[np.argmin(bbox[:, 0])]
        np.testing.assert_array_equal(bbox[left][:, 0], [10 + 5 * f for f in frames])


if __name__ == "__main__":
    unittest.main()
