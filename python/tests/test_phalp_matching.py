"""What posepipe hands PHALP's matcher: the stand-in deep_sort tracker calls back into the PHALP
object as the real one does (forward_for_tracking, get_pose_distance, get_uv_distance), and a
detection_data of the wrong shape, dtype or type fails inside the tracker with AssertionError."""
import unittest
from unittest import mock

import phalp_stand_in_env as env  # noqa: F401  (sets sys.path and HOME first)
from phalp_stand_in_env import people_frames

import numpy as np
import torch
from phalp.external.deep_sort_ import linear_assignment
from phalp.trackers import PHALP as phalp_module

from posepipe.backends.phalp import PhalpBackend
from posepipe.backends.phalp_loop import ChunkLoop

HISTORY = 7  # cfg.phalp.track_history


def loaded():
    backend = PhalpBackend()
    backend.load()
    return backend


class CallbacksTest(unittest.TestCase):
    """One 14-frame run (A walks right, B stands still and is hidden in frames 8 and 9)."""

    @classmethod
    def setUpClass(cls):
        cls.backend = loaded()
        phalp_module.MATCHER_CALLS.clear()
        cls.backend.track(iter(people_frames(14, gaps=(8, 9))))
        cls.calls = list(phalp_module.MATCHER_CALLS)
        cls.phalp = phalp_module.BUILT[-1]

    def test_forward_for_tracking_gets_the_stacked_histories_as_numpy(self):
        pose_calls = [c for c in self.calls if c[:2] == ("forward_for_tracking", "P")]
        loca_calls = [c for c in self.calls if c[:2] == ("forward_for_tracking", "L")]
        self.assertEqual(len(pose_calls), len(loca_calls))
        self.assertGreater(len(pose_calls), 0)
        for _, _, vectors, time in pose_calls:
            n = vectors[0][1][0]
            self.assertEqual(vectors, [("ndarray", (n, HISTORY, 229), "float32"), ("ndarray", (n, HISTORY, 6), "float64"),
                                       ("ndarray", (n, HISTORY), "int64")])
            self.assertEqual(time, ("ndarray", (n,), "int64"))
        for _, _, vectors, time in loca_calls:
            n = vectors[0][1][0]
            self.assertEqual(vectors, [("ndarray", (n, HISTORY, 99), "float32"), ("ndarray", (n, HISTORY), "int64"),
                                       ("ndarray", (n, HISTORY), "float64")])
            self.assertEqual(time, ("ndarray", (n,), "int64"))

    def test_pose_and_uv_distances_get_numpy_of_the_real_shapes(self):
        pose = [c for c in self.calls if c[0] == "get_pose_distance"]
        uv = [c for c in self.calls if c[0] == "get_uv_distance"]
        self.assertGreater(len(pose), 0)
        for _, track, detect in pose:
            self.assertEqual(track, ("ndarray", (1, 229), "float32"))  # past_lookback 1: one sample per track
            self.assertEqual(detect[:2], ("ndarray", (detect[1][0], 229)))
            self.assertEqual(detect[2], "float32")
        # every (track sample, detection) pair: 2 x 2 in a frame with both people and two tracks
        self.assertGreaterEqual(len(uv), 4 * 10)
        for _, track, detect in uv:
            self.assertEqual(track[:2], ("ndarray", (4, 256, 256)))
            self.assertIn(track[2], ("float32", "float64"))  # float64 once blended by Track.update
            self.assertEqual(detect, ("ndarray", (4, 256, 256), "float32"))

    def test_track_predictions_keep_the_real_keys_and_shapes(self):
        tracks = self.phalp.tracker.tracks
        self.assertEqual([t.track_id for t in tracks], [1, 2])
        for track in tracks:
            prediction = track.track_data["prediction"]
            self.assertEqual(set(prediction), {"appe", "loca", "pose", "uv"})
            self.assertEqual({k: np.shape(v[-1]) for k, v in prediction.items()},
                             {"appe": (4096,), "loca": (99,), "pose": (229,), "uv": (4, 256, 256)})
            self.assertTrue(all(v.maxlen == 6 for v in prediction.values()))  # n_init + 1
            self.assertEqual(len(track.track_data["history"]), HISTORY)

    def test_cost_separates_the_two_people_and_a_ghost_is_matched_again(self):
        threshold = self.phalp.cfg.phalp.hungarian_th
        cost, matches, unmatched_tracks, unmatched_detections = self.phalp.tracker.tracked_cost[5]
        self.assertEqual(cost.shape, (2, 2))
        self.assertTrue(np.all(np.diag(cost) < threshold) and cost[0, 1] > threshold and cost[1, 0] > threshold, cost)
        self.assertEqual(sorted(matches), [(0, 0), (1, 1)])
        cost, matches, unmatched_tracks, _ = self.phalp.tracker.tracked_cost[9]  # B hidden: a ghost
        self.assertEqual((cost.shape, matches, unmatched_tracks), ((2, 1), [(0, 0)], [1]))
        cost, matches, _, unmatched_detections = self.phalp.tracker.tracked_cost[10]  # B is back
        self.assertEqual((sorted(matches), unmatched_detections), ([(0, 0), (1, 1)], []))
        b = self.phalp.tracker.tracks[1]
        self.assertEqual((b.track_id, b.hits, b.time_since_update), (2, 12, 0))  # 14 frames less the 2 hidden


class MistakesTest(unittest.TestCase):
    """A mistake in what posepipe builds fails inside the tracker, with the key or call named."""

    @classmethod
    def setUpClass(cls):
        cls.backend = loaded()

    def track_with(self, change, frames=3):
        original = ChunkLoop._batch

        def corrupted(loop, people):
            out = original(loop, people)
            for data in out:
                change(data)
            return out

        with mock.patch.object(ChunkLoop, "_batch", corrupted):
            self.backend.track(iter(people_frames(frames)))

    def test_detection_data_mistakes(self):
        cases = {
            "uv": lambda d: d.update(uv=d["uv"][:, ::2, ::2]),
            "appe": lambda d: d.update(appe=d["appe"][None]),
            "pose": lambda d: d.update(pose=d["pose"].astype(np.float64)),
            "loca": lambda d: d.update(loca=torch.from_numpy(d["loca"])),
            "conf": lambda d: d.pop("conf"),
            "time": lambda d: d.update(time=float(d["time"])),
        }
        for key, change in cases.items():
            with self.subTest(key=key):
                with self.assertRaisesRegex(AssertionError, key):
                    self.track_with(change)

    def test_loca_layout_mistakes_reach_forward_for_tracking(self):
        def swapped(d):  # the camera first, then the joints: right shape and dtype, wrong layout
            d["loca"] = np.concatenate([d["loca"][90:], d["loca"][:90]])

        def pixels(d):  # 2D joints not divided by cfg.render.res
            d["loca"] = np.concatenate([d["loca"][:90] * 256, d["loca"][90:]]).astype(np.float32)

        for change, message in ((swapped, "camera translation three times"), (pixels, r"cfg\.render\.res")):
            with self.subTest(message=message):
                with self.assertRaisesRegex(AssertionError, message):
                    self.track_with(change)

    def test_a_numpy_prediction_where_phalp_wants_a_tensor(self):
        real = phalp_module.PHALP.forward_for_tracking

        def numpy_out(phalp, vectors, attibute="A", time=1):
            return real(phalp, vectors, attibute, time).numpy()

        with mock.patch.object(phalp_module.PHALP, "forward_for_tracking", numpy_out):
            with self.assertRaisesRegex(AssertionError, "torch tensor"):
                self.track_with(lambda d: None)


class CallbackContractTest(unittest.TestCase):
    """The callbacks themselves refuse what the real ones could not take (torch.from_numpy, shapes)."""

    @classmethod
    def setUpClass(cls):
        loaded()
        cls.phalp = phalp_module.BUILT[-1]

    def uv(self):
        uv = np.zeros((4, 256, 256), np.float32)
        uv[3] = -1
        uv[3, 64:192, 96:160] = 1
        return uv

    def test_get_uv_distance(self):
        xu, yu, overlap = self.phalp.get_uv_distance(self.uv(), self.uv())
        self.assertEqual((xu.shape, yu.shape, xu.dtype), ((4096,), (4096,), np.float32))
        self.assertAlmostEqual(float(overlap), 128 * 64 / 256 ** 2)
        for bad in (torch.from_numpy(self.uv()), self.uv()[:3], self.uv()[None], self.uv().astype(np.float16),
                    self.uv().astype(np.int64)):
            with self.subTest(bad=phalp_module.describe(bad)):
                with self.assertRaises(AssertionError):
                    self.phalp.get_uv_distance(self.uv(), bad)

    def test_get_pose_distance(self):
        got = self.phalp.get_pose_distance(np.zeros((1, 229), np.float32), np.ones((3, 229), np.float32))
        np.testing.assert_allclose(got, np.full((1, 3), 226.0))  # the camera (last 3) left out
        for bad in (np.zeros((3, 226), np.float32), np.zeros(229, np.float32), torch.zeros(3, 229)):
            with self.subTest(bad=phalp_module.describe(bad)):
                with self.assertRaises(AssertionError):
                    self.phalp.get_pose_distance(np.zeros((1, 229), np.float32), bad)

    def test_forward_for_tracking(self):
        times = np.tile(np.arange(HISTORY), (2, 1))
        loca = np.full((2, HISTORY, 99), 0.5, np.float32)
        loca[:, :, 88] += 0.01 * times  # joint 44 moves right
        conf = np.ones((2, HISTORY))
        out = self.phalp.forward_for_tracking([loca, times, conf], "L", np.array([0, 2]))
        self.assertEqual((type(out), tuple(out.shape), out.dtype), (torch.Tensor, (2, 99), torch.float32))
        np.testing.assert_allclose(out[:, 88].numpy(), [0.5 + 0.07, 0.5 + 0.09], atol=1e-6)
        pose = np.zeros((2, HISTORY, 229), np.float32)
        data = np.zeros((2, HISTORY, 6))
        data[:, :, 4] = times
        out = self.phalp.forward_for_tracking([pose, data, times], "P", np.array([0, 2]))
        self.assertEqual((type(out), tuple(out.shape)), (torch.Tensor, (2, 229)))
        bad_calls = {
            "time as a tensor": ([loca, times, conf], "L", torch.tensor([0, 2])),
            "float times": ([loca, times.astype(float), conf], "L", np.array([0, 2])),
            "98-long loca": ([loca[:, :, :98], times, conf], "L", np.array([0, 2])),
            "a short history": ([loca[:, 1:], times[:, 1:], conf[:, 1:]], "L", np.array([0, 2])),
            "pose as a tensor": ([torch.from_numpy(pose), data, times], "P", np.array([0, 2])),
            "pose data without the times": ([pose, np.zeros((2, HISTORY, 6)), times + 1], "P", np.array([0, 2])),
        }
        for name, args in bad_calls.items():
            with self.subTest(name):
                with self.assertRaises(AssertionError):
                    self.phalp.forward_for_tracking(*args)

    def test_linear_assignment_is_the_cheapest_one_to_one(self):
        pairs = linear_assignment.linear_assignment(np.array([[1.0, 2.0], [2.0, 10.0]]))
        self.assertEqual(pairs.tolist(), [[0, 1], [1, 0]])  # 4, not the greedy 1 + 10
        self.assertEqual(linear_assignment.linear_assignment(np.zeros((0, 3))).shape, (0, 2))


if __name__ == "__main__":
    unittest.main()
