"""The keypoints backend's settings: defaults, every bad value naming its variable, device and
precision resolution. No torch needed."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from posepipe.backends.keypoints_config import (RANDOM, read_settings, resolve_device,  # noqa: E402
                                                resolve_precision, size_pair, starting_batch)
from posepipe.errors import EnvironmentProblem, kind_of  # noqa: E402


def env(**values: str) -> dict:
    return {f"POSEPIPE_KEYPOINTS_{k}": v for k, v in values.items()}


class ReadSettings(unittest.TestCase):
    def test_defaults(self) -> None:
        s = read_settings({})
        self.assertEqual((s.weights, s.device, s.batch, s.precision), (None, "auto", None, "auto"))
        self.assertEqual((s.min_score, s.max_persons, s.size, s.proposals), (0.5, 100, 800, 1000))
        self.assertEqual((s.memory_fraction, s.iou, s.max_age, s.min_hits), (None, 0.2, 12, 3))

    def test_values_are_read(self) -> None:
        s = read_settings(env(WEIGHTS="Random", DEVICE="CUDA:1", BATCH="16", PRECISION="bf16", MIN_SCORE="0",
                              MAX_PERSONS="5", SIZE="480", PROPOSALS="300", MEMORY_FRACTION="0.25", MIN_HITS="1"))
        self.assertEqual((s.weights, s.device, s.batch, s.precision), (RANDOM, "cuda:1", 16, "bf16"))
        self.assertEqual((s.min_score, s.max_persons, s.size, s.proposals, s.memory_fraction, s.min_hits),
                         (0.0, 5, 480, 300, 0.25, 1))
        self.assertEqual(read_settings(env(WEIGHTS="/w/kp.pth", BATCH="")).weights, "/w/kp.pth")

    def test_bad_values_name_the_variable_and_value(self) -> None:
        cases = {
            "BATCH": ["0", "two", "1.5"], "DEVICE": ["gpu", "cuda:x"], "PRECISION": ["fp8"],
            "MIN_SCORE": ["1.5", "-0.1", "nan"], "MEMORY_FRACTION": ["0", "1.5"], "SIZE": ["16"],
            "MAX_PERSONS": ["0"], "PROPOSALS": ["none"], "MIN_HITS": ["0"],
        }
        for key, values in cases.items():
            for value in values:
                with self.subTest(key=key, value=value):
                    with self.assertRaises(EnvironmentProblem) as caught:
                        read_settings(env(**{key: value}))
                    self.assertIn(f"POSEPIPE_KEYPOINTS_{key}={value!r}", str(caught.exception))
                    self.assertEqual(kind_of(caught.exception), "environment")

    def test_settings_are_frozen(self) -> None:
        with self.assertRaises(AttributeError):
            read_settings({}).batch = 4  # type: ignore[misc]


class Resolve(unittest.TestCase):
    def test_device(self) -> None:
        self.assertEqual(resolve_device("auto", 0, "1.13"), "cpu")
        self.assertEqual(resolve_device("auto", 2, "1.13"), "cuda:0")
        self.assertEqual(resolve_device("cuda", 1, "1.13"), "cuda:0")
        self.assertEqual(resolve_device("cuda:1", 2, "1.13"), "cuda:1")
        self.assertEqual(resolve_device("cpu", 2, "1.13"), "cpu")
        with self.assertRaisesRegex(EnvironmentProblem, r"POSEPIPE_KEYPOINTS_DEVICE='cuda' but torch 1.13 sees no CUDA device"):
            resolve_device("cuda", 0, "1.13")
        with self.assertRaisesRegex(EnvironmentProblem, r"'cuda:2' but only 2 CUDA device\(s\) exist"):
            resolve_device("cuda:2", 2, "1.13")

    def test_precision(self) -> None:
        self.assertEqual(resolve_precision("auto", "cpu", False), "fp32")
        self.assertEqual(resolve_precision("auto", "cuda:0", True), "bf16")
        self.assertEqual(resolve_precision("auto", "cuda:0", False), "fp32")
        self.assertEqual(resolve_precision("fp16", "cuda:0", True), "fp16")
        self.assertEqual(resolve_precision("bf16", "cpu", False), "bf16")
        with self.assertRaisesRegex(EnvironmentProblem, "POSEPIPE_KEYPOINTS_PRECISION=fp16 needs a CUDA device"):
            resolve_precision("fp16", "cpu", False)
        with self.assertRaisesRegex(EnvironmentProblem, "POSEPIPE_KEYPOINTS_PRECISION=bf16 but cuda:0 does not support"):
            resolve_precision("bf16", "cuda:0", False)

    def test_batch_and_size(self) -> None:
        self.assertEqual((starting_batch(None, "cpu"), starting_batch(None, "cuda:0"), starting_batch(3, "cuda:0")), (1, 8, 3))
        self.assertEqual(size_pair(800), (800, 1333))
        self.assertEqual(size_pair(128), (128, 213))


if __name__ == "__main__":
    unittest.main()
