"""builtin's keypoints setting (checked at load, naming the variable) and the square crop the
keypoint model is given around each person."""
import os
import sys
import unittest

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from posepipe.backends.node_detector import CROP_MARGIN, square_crop  # noqa: E402
from posepipe.errors import EnvironmentProblem  # noqa: E402
from test_builtin import loaded as load  # noqa: E402  builtin loaded with just these settings


class KeypointsSettingTest(unittest.TestCase):
    def test_off_by_default_and_with_0(self):
        self.assertFalse(load({"POSEPIPE_BUILTIN_DETECTOR": "hog"}).keypoints)
        self.assertFalse(load({"POSEPIPE_BUILTIN_DETECTOR": "hog", "POSEPIPE_BUILTIN_KEYPOINTS": "0"}).keypoints)

    def test_a_value_other_than_0_or_1_is_refused_naming_it(self):
        for raw in ("yes", "2", "true", " 1"):
            with self.assertRaises(EnvironmentProblem) as caught:
                load({"POSEPIPE_BUILTIN_DETECTOR": "centernet", "POSEPIPE_BUILTIN_KEYPOINTS": raw})
            self.assertEqual(str(caught.exception), f"POSEPIPE_BUILTIN_KEYPOINTS={raw!r} must be 0 or 1")

    def test_keypoints_need_the_centernet_detector(self):
        with self.assertRaises(EnvironmentProblem) as caught:
            load({"POSEPIPE_BUILTIN_DETECTOR": "hog", "POSEPIPE_BUILTIN_KEYPOINTS": "1"})
        self.assertIn("POSEPIPE_BUILTIN_KEYPOINTS=1 needs POSEPIPE_BUILTIN_DETECTOR=centernet", str(caught.exception))


class SquareCropTest(unittest.TestCase):
    def frame_with_dot(self, x, y):
        frame = np.zeros((360, 640, 3), dtype=np.uint8)
        cv2.circle(frame, (x, y), 3, (255, 255, 255), -1)
        return frame

    def found_back(self, frame, box, side=192):
        """Where the dot lands in the crop, mapped back to frame pixels through the crop's corner."""
        crop, (x0, y0, extent) = square_crop(cv2, np, frame, box, side)
        self.assertEqual(crop.shape, (side, side, 3))
        ys, xs = np.nonzero(crop[:, :, 0] > 127)
        # Crop pixel centres are at (i + 0.5) / side of the square, as the model's 0..1 coordinates.
        return x0 + (xs.mean() + 0.5) / side * extent, y0 + (ys.mean() + 0.5) / side * extent, extent

    def test_a_point_maps_back_to_its_frame_pixel_downscaled_and_upscaled(self):
        # A 312 px square shrunk to 192, and a 75 px one enlarged.
        for box, dot in (([200, 50, 100, 250], (250, 120)), ([300, 150, 30, 60], (320, 170))):
            x, y, extent = self.found_back(self.frame_with_dot(*dot), box)
            self.assertEqual(extent, round(max(box[2], box[3]) * CROP_MARGIN))
            self.assertAlmostEqual(x, dot[0] + 0.5, delta=1.0)  # the dot's centre: pixel 250 spans 250..251
            self.assertAlmostEqual(y, dot[1] + 0.5, delta=1.0)

    def test_a_box_at_the_edge_is_padded_black_and_keeps_the_mapping(self):
        frame = self.frame_with_dot(10, 340)
        frame[:, :, 1] = np.maximum(frame[:, :, 1], 40)  # the picture is never black; the padding is
        x, y, _ = self.found_back(frame, [0, 200, 60, 160])
        self.assertAlmostEqual(x, 10.5, delta=1.0)
        self.assertAlmostEqual(y, 340.5, delta=1.0)
        crop, _ = square_crop(cv2, np, frame, [0, 200, 60, 160], 192)
        self.assertEqual(int(crop[96, 0, 1]), 0)  # left of the frame's edge
        self.assertEqual(int(crop[191, 96, 1]), 0)  # below its bottom
        self.assertGreater(int(crop[96, 96, 1]), 30)  # inside

    def test_a_box_outside_the_frame_gives_a_black_crop(self):
        crop, _ = square_crop(cv2, np, self.frame_with_dot(10, 10), [700, 400, 20, 40], 192)
        self.assertEqual(int(crop.max()), 0)


if __name__ == "__main__":
    unittest.main()
