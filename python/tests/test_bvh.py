"""The BVH export's rotations: matrices to quaternions and back (half turns included), Z-X-Y Euler
angles (gimbal lock included), and the frames filled between detections."""
import os
import sys
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from posepipe.bvh import euler_zxy, filled, matrices, quaternions, slerp  # noqa: E402
from posepipe.smpl_model import rodrigues  # noqa: E402


def zxy(z, x, y):
    z, x, y = np.radians([z, x, y])
    rz = np.array([[np.cos(z), -np.sin(z), 0], [np.sin(z), np.cos(z), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(x), -np.sin(x)], [0, np.sin(x), np.cos(x)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    return rz @ rx @ ry


HALF_TURNS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.6, -0.8, 0], [0, 0.6, -0.8], [-0.48, 0.6, 0.64]]) * np.pi


class RotationsTest(unittest.TestCase):
    def test_quaternions_round_trip_half_turns_included(self):
        rng = np.random.default_rng(0)
        m = rodrigues(np.concatenate([rng.normal(0, 2, (500, 3)), HALF_TURNS, np.zeros((1, 3))]))
        self.assertLess(np.abs(matrices(quaternions(m)) - m).max(), 1e-12)

    def test_euler_angles_give_the_matrix_back_at_gimbal_lock_too(self):
        rng = np.random.default_rng(1)
        cases = list(rodrigues(rng.normal(0, 2, (500, 3)))) + list(rodrigues(HALF_TURNS)) + [zxy(30, 90, 20), zxy(10, -90, 50)]
        for m in cases:
            self.assertLess(np.abs(zxy(*euler_zxy(m)) - m).max(), 1e-9)

    def test_slerp_ends_and_middle(self):
        a, b = quaternions(rodrigues(np.array([[0, 0, 0.2], [0, 0, 1.0]])))
        self.assertLess(np.abs(slerp(a, b, 0.0) - a).max(), 1e-12)
        self.assertLess(np.abs(slerp(a, b, 1.0) - b).max(), 1e-12)
        self.assertLess(np.abs(matrices(slerp(a, b, 0.5)) - rodrigues(np.array([0, 0, 0.6]))).max(), 1e-12)

    def test_gaps_are_filled_between_detections_and_listed(self):
        frames = np.array([3, 4, 7])
        rotations = rodrigues(np.array([[0, 0, 0.0], [0, 0, 0.3], [0, 0, 0.9]]))[:, None].repeat(24, 1)
        trans = np.array([[0, 0, 0], [1, 0, 0], [4, 0, 0]], dtype=float)
        out_r, out_t, gaps = filled(frames, rotations, trans)
        self.assertEqual(gaps, [[5, 6]])
        self.assertEqual(len(out_r), 5)
        self.assertLess(np.abs(out_t[:, 0] - [0, 1, 2, 3, 4]).max(), 1e-12)
        self.assertLess(np.abs(out_r[2, 5] - rodrigues(np.array([0, 0, 0.5]))).max(), 1e-12)


if __name__ == "__main__":
    unittest.main()
