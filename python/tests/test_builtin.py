"""builtin's settings (each checked, naming the variable) and its appearance histograms."""
import os
import sys
import unittest
from unittest import mock

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from posepipe.backends.builtin import HISTOGRAM_SIZE, BuiltinBackend, appearance_histogram  # noqa: E402
from posepipe.errors import EnvironmentProblem  # noqa: E402
from posepipe.sort import appearance_distance  # noqa: E402


def loaded(env):
    """The backend loaded with `env` (HOG unless it names a detector: CenterNet needs posepipe's
    helper, which test/tracker/builtin-centernet.test.ts starts)."""
    env = {"POSEPIPE_BUILTIN_DETECTOR": "hog", **env}
    with mock.patch.dict(os.environ, env, clear=False):
        for name in [k for k in os.environ if k.startswith("POSEPIPE_BUILTIN_") and k not in env]:
            del os.environ[name]
        backend = BuiltinBackend()
        backend.load()
        return backend


class SettingsTest(unittest.TestCase):
    def test_defaults(self):
        b = loaded({})
        self.assertEqual((b.min_weight, b.low_weight, b.appearance, b.max_age, b.min_hits), (0.3, 0.0, 0.5, 50, 5))

    def test_the_new_settings_are_read(self):
        b = loaded({"POSEPIPE_BUILTIN_LOW_WEIGHT": "0.1", "POSEPIPE_BUILTIN_APPEARANCE": "0"})
        self.assertEqual((b.low_weight, b.appearance), (0.1, 0.0))

    def test_centernet_is_the_default_and_runs_only_under_posepipe(self):
        with mock.patch.dict(os.environ, {}, clear=False):
            for name in [k for k in os.environ if k.startswith("POSEPIPE_BUILTIN_") or k == "POSEPIPE_DETECTOR_COMMAND"]:
                del os.environ[name]
            backend = BuiltinBackend()
            with self.assertRaises(EnvironmentProblem) as caught:
                backend.load()
        self.assertEqual(backend.detector, "centernet")
        self.assertIn("POSEPIPE_DETECTOR_COMMAND is not set", str(caught.exception))

    def test_bad_values_name_the_variable(self):
        for name, raw, says in (("POSEPIPE_BUILTIN_APPEARANCE", "1.5", "must be at most 1"),
                                ("POSEPIPE_BUILTIN_APPEARANCE", "-0.1", "must be at least 0"),
                                ("POSEPIPE_BUILTIN_LOW_WEIGHT", "-1", "must be at least 0"),
                                ("POSEPIPE_BUILTIN_LOW_WEIGHT", "low", "is not a number"),
                                ("POSEPIPE_BUILTIN_MAX_AGE", "2.5", "is not a whole number"),
                                ("POSEPIPE_BUILTIN_MIN_SCORE", "1.5", "must be at most 1"),
                                ("POSEPIPE_BUILTIN_TILES", "3", "must be at most 2")):
            with self.subTest(name=name, raw=raw):
                # CenterNet's own settings are read (and refused) before its helper starts.
                detector = "centernet" if name in ("POSEPIPE_BUILTIN_MIN_SCORE", "POSEPIPE_BUILTIN_TILES") else "hog"
                with self.assertRaises(EnvironmentProblem) as caught:
                    loaded({name: raw, "POSEPIPE_BUILTIN_DETECTOR": detector})
                self.assertIn(f"{name}={raw!r}", str(caught.exception))
                self.assertIn(says, str(caught.exception))


class AppearanceHistogramTest(unittest.TestCase):
    def person(self, shirt, trousers):
        """A 64x128 window on grey with a person-shaped block: shirt above, trousers below (BGR)."""
        image = np.full((128, 64, 3), 128, dtype=np.uint8)
        image[16:64, 16:48] = shirt
        image[64:112, 16:48] = trousers
        return image

    def test_clothes_tell_people_apart(self):
        window = (0, 0, 64, 128)
        red_blue = appearance_histogram(cv2, np, self.person((0, 0, 200), (200, 0, 0)), window)
        again = appearance_histogram(cv2, np, self.person((0, 0, 200), (200, 0, 0)), window)
        blue_red = appearance_histogram(cv2, np, self.person((200, 0, 0), (0, 0, 200)), window)
        self.assertAlmostEqual(float(red_blue.sum()), 1.0)
        self.assertEqual(red_blue.tobytes(), again.tobytes())
        d = appearance_distance(np.array([red_blue]), np.array([again, blue_red]))[0]
        self.assertAlmostEqual(float(d[0]), 0.0, places=6)
        # The same two colours, worn the other way round: far apart (upper and lower body apart).
        self.assertGreater(float(d[1]), 0.9)

    def test_a_frame_without_people_gives_empty_arrays(self):
        boxes, scores, weak, features = loaded({}).detect(np.full((240, 320, 3), 128, dtype=np.uint8))
        self.assertEqual((boxes.shape, scores.shape, weak.shape, features.shape), ((0, 4), (0,), (0,), (0, HISTOGRAM_SIZE)))

    def test_a_box_outside_the_picture_is_uniform(self):
        h = appearance_histogram(cv2, np, self.person((0, 0, 200), (200, 0, 0)), (200, 200, 64, 128))
        self.assertTrue(np.allclose(h, h[0]))
        self.assertAlmostEqual(float(h.sum()), 1.0)


class StretchDarkTest(unittest.TestCase):
    def test_a_dark_picture_is_stretched_and_a_bright_one_left_alone(self):
        from posepipe.backends.node_detector import stretch_dark
        rng = np.random.default_rng(1)
        dark = rng.integers(0, 80, size=(64, 64, 3), dtype=np.uint8)
        stretched = stretch_dark(cv2, dark)
        self.assertGreaterEqual(int(np.percentile(stretched, 99.5)), 250)
        self.assertEqual(stretched.dtype, np.uint8)
        # Order kept: a darker pixel stays darker.
        self.assertTrue(np.all(np.diff(stretched.reshape(-1)[np.argsort(dark.reshape(-1), kind="stable")].astype(int)) >= 0))
        bright = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
        self.assertIs(stretch_dark(cv2, bright), bright)


if __name__ == "__main__":
    unittest.main()
