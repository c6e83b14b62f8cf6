"""The keypoints backend with the real torchvision model on the CPU, tiny and with random weights
(no download): where weights come from and the error without them, the forward pass in pixels of
the frames, determinism, reduced precision, and a weights file round trip."""

import os
import shutil
import sys
import tempfile
import unittest
from typing import Any, Dict, List
from unittest import mock

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from posepipe.backends import keypoints_model as km  # noqa: E402
from posepipe.backends.keypoints import KeypointsBackend  # noqa: E402
from posepipe.errors import EnvironmentProblem, kind_of  # noqa: E402

# Small enough for seconds on one core: 64-pixel short side, 20 proposals, 2 persons per frame.
TINY = {"POSEPIPE_KEYPOINTS_WEIGHTS": "random", "POSEPIPE_KEYPOINTS_DEVICE": "cpu", "POSEPIPE_KEYPOINTS_SIZE": "64",
        "POSEPIPE_KEYPOINTS_PROPOSALS": "20", "POSEPIPE_KEYPOINTS_MAX_PERSONS": "2", "POSEPIPE_KEYPOINTS_MIN_SCORE": "0",
        "POSEPIPE_KEYPOINTS_MIN_HITS": "1"}


def frames(count: int = 3, height: int = 72, width: int = 96) -> List[np.ndarray]:
    """A bright block sliding right over a dark, fixed-noise background."""
    rng = np.random.default_rng(7)
    base = rng.integers(0, 60, size=(height, width, 3), dtype=np.uint8)
    out = []
    for i in range(count):
        f = base.copy()
        f[20:60, 10 + 8 * i:30 + 8 * i] = (40, 180, 250)
        out.append(f)
    return out


def loaded(**extra: str) -> KeypointsBackend:
    backend = KeypointsBackend()
    with mock.patch.dict(os.environ, {**TINY, **extra}):
        backend.load()
    return backend


class Weights(unittest.TestCase):
    def setUp(self) -> None:
        self.hub = tempfile.mkdtemp(prefix="posepipe-kp-hub-")
        self.addCleanup(shutil.rmtree, self.hub)

    def test_no_weights_names_the_exact_file_to_put_in_place(self) -> None:
        def offline(url: str, path: str) -> None:
            raise OSError("[Errno -3] Temporary failure in name resolution")

        with self.assertRaises(EnvironmentProblem) as caught:
            km.find_weights(None, self.hub, download=offline)
        expected = os.path.join(self.hub, "checkpoints", "keypointrcnn_resnet50_fpn_coco-fc266e95.pth")
        text = str(caught.exception)
        self.assertIn(f"at {expected}", text)
        self.assertIn(km.COCO_URL, text)
        self.assertIn("POSEPIPE_KEYPOINTS_WEIGHTS", text)
        self.assertIn("download failed: OSError: [Errno -3] Temporary failure in name resolution", text)
        self.assertEqual(kind_of(caught.exception), "environment")

    def test_the_cache_file_is_used_without_downloading(self) -> None:
        path = km.cache_path(self.hub)
        os.makedirs(os.path.dirname(path))
        open(path, "wb").close()
        self.assertEqual(km.find_weights(None, self.hub, download=self.fail), (path, "COCO_V1"))

    def test_a_download_lands_in_the_cache(self) -> None:
        fetched: List[str] = []

        def fake(url: str, path: str) -> None:
            fetched.append(url)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "wb").close()

        self.assertEqual(km.find_weights(None, self.hub, download=fake), (km.cache_path(self.hub), "COCO_V1"))
        self.assertEqual(fetched, [km.COCO_URL])

    def test_a_configured_file_must_exist(self) -> None:
        missing = os.path.join(self.hub, "nope.pth")
        with self.assertRaisesRegex(EnvironmentProblem, f"POSEPIPE_KEYPOINTS_WEIGHTS='{missing}': no such file"):
            km.find_weights(missing, self.hub, download=self.fail)
        self.assertEqual(km.find_weights("random", self.hub, download=self.fail)[0], None)

    def test_a_file_that_is_not_a_state_dict_is_an_environment_error(self) -> None:
        bad = os.path.join(self.hub, "bad.pth")
        with open(bad, "wb") as f:
            f.write(b"not a checkpoint")
        with self.assertRaisesRegex(EnvironmentProblem, f"cannot load Keypoint R-CNN weights from {bad}"):
            loaded(POSEPIPE_KEYPOINTS_WEIGHTS=bad)


class RealModel(unittest.TestCase):
    backend: KeypointsBackend
    first: List[Dict[str, Any]]

    @classmethod
    def setUpClass(cls) -> None:
        cls.backend = loaded()
        cls.first = cls.backend._forward(frames(2))

    def test_load_reports_cpu_fp32_batch_1_and_random_weights(self) -> None:
        b = self.backend
        self.assertEqual((b.device, b.precision, b.ready_info()), ("cpu", "fp32", {"precision": "fp32", "batch": 1}))
        self.assertIn("random init", b.version)
        b.release()  # a no-op on the CPU, but must not fail

    def test_outputs_are_in_pixels_of_the_frames_as_given(self) -> None:
        # 96x72 frames scaled to a 64-pixel short side inside the model: results come back in 96x72.
        def inside(values: np.ndarray, size: int) -> bool:
            return bool(np.all((values >= 0) & (values <= size + 1e-3)))  # clipped in model pixels, scaled back

        for out in self.first:
            self.assertEqual(out["keypoints"].shape, (2, 17, 3))
            self.assertTrue(inside(out["boxes"][:, [0, 2]], 96) and inside(out["boxes"][:, [1, 3]], 72), out["boxes"])
            self.assertTrue(inside(out["keypoints"][..., 0], 96) and inside(out["keypoints"][..., 1], 72))
        self.assertGreater(max(out["boxes"][:, 2].max() for out in self.first), 64)

    def test_the_same_frames_give_the_same_bits(self) -> None:
        again = self.backend._forward(frames(2))
        for a, b in zip(self.first, again):
            for key in a:
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)

    def test_track_gives_persons_with_keypoints2d(self) -> None:
        frame, track, bbox, score, extras = self.backend.track(iter(frames(3)))
        self.assertEqual(sorted(frame.tolist()), [0, 0, 1, 1, 2, 2])
        self.assertEqual(extras["keypoints2d"].shape, (6, 17, 3))
        self.assertEqual(extras["keypoints2d"].dtype, np.float32)
        self.assertGreaterEqual(track.min(), 1)

    def test_a_saved_state_dict_loads_and_gives_the_same_output(self) -> None:
        import torch
        folder = tempfile.mkdtemp(prefix="posepipe-kp-weights-")
        self.addCleanup(shutil.rmtree, folder)
        path = os.path.join(folder, "kp.pth")
        torch.save(self.backend.model.state_dict(), path)
        other = loaded(POSEPIPE_KEYPOINTS_WEIGHTS=path)
        self.assertIn("weights kp.pth", other.version)
        np.testing.assert_array_equal(other._forward(frames(2))[1]["keypoints"], self.first[1]["keypoints"])

    def test_bf16_runs_with_fp32_box_and_keypoint_decoding(self) -> None:
        bf16 = loaded(POSEPIPE_KEYPOINTS_PRECISION="bf16")
        self.assertEqual(bf16.ready_info()["precision"], "bf16")
        out = bf16._forward(frames(1))[0]
        self.assertEqual((out["boxes"].dtype, out["keypoints"].dtype), (np.float32, np.float32))
        self.assertEqual(out["keypoints"].shape, (2, 17, 3))


if __name__ == "__main__":
    unittest.main()
