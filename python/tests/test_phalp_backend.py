"""The phalp backend's loop, batching, error mapping and output mapping, against the stand-ins."""
import os
import unittest
from unittest import mock

import phalp_stand_in_env as env  # noqa: F401  (sets sys.path and HOME first)
from phalp_stand_in_env import people_frames

import numpy as np
import torch
import hmr2.models
from phalp.trackers import PHALP as phalp_module

from posepipe.backends.phalp import PhalpBackend
from posepipe.errors import EnvironmentProblem, kind_of


def loaded(**knobs):
    with mock.patch.dict(os.environ, {k: str(v) for k, v in knobs.items()}):
        backend = PhalpBackend()
        backend.load()
    return backend


def rows(result):
    frame, track, _, _, _ = result
    return sorted(zip(frame.tolist(), track.tolist()))


class OutputTest(unittest.TestCase):
    def setUp(self):
        self.backend = loaded()
        self.result = self.backend.track(iter(people_frames(14, gaps=(8, 9))))

    def test_only_observed_rows_no_ghosts(self):
        got = rows(self.result)
        self.assertEqual({t for _, t in got}, {1, 2})
        b_frames = [f for f, t in got if t == 2]
        # B is confirmed at frame 4 (5 hits) with frames 0-3 back-filled, missed at 8 and 9 (ghosts).
        self.assertEqual(b_frames, [f for f in range(14) if f not in (8, 9)])
        self.assertEqual([f for f, t in got if t == 1], list(range(14)))

    def test_columns_and_extras_shapes(self):
        frame, track, bbox, score, extras = self.result
        m = len(frame)
        self.assertEqual(bbox.shape, (m, 4))
        self.assertTrue(np.all(score > 0.8))
        shapes = {k: v.shape for k, v in extras.items()}
        self.assertEqual(shapes, {"keypoints2d": (m, 45, 2), "joints3d": (m, 45, 3), "smpl_global_orient": (m, 1, 3, 3),
                                  "smpl_body_pose": (m, 23, 3, 3), "smpl_betas": (m, 10), "camera_translation": (m, 3),
                                  "focal_length": (m,)})
        self.assertTrue(all(v.dtype == np.float32 for v in extras.values()))
        # 5000 px on a 256 px square covering the 320 px padded frame.
        np.testing.assert_allclose(extras["focal_length"], 5000 * 320 / 256)

    def test_bbox_and_keypoints_in_image_pixels(self):
        frame, track, bbox, _, extras = self.result
        row = [i for i in range(len(frame)) if frame[i] == 3 and track[i] == 1][0]
        np.testing.assert_allclose(bbox[row], [46, 60, 60, 120])  # A at frame 3: x 46..106, y 60..180
        x, y, w, h = bbox[row]
        kp = extras["keypoints2d"][row]
        # The 240 px high frame sits 40 px down in the padded square: a missing offset leaves the box.
        self.assertTrue(np.all((kp[:, 0] >= x) & (kp[:, 0] <= x + w) & (kp[:, 1] >= y) & (kp[:, 1] <= y + h)), kp)
        self.assertAlmostEqual(float(kp[:, 1].mean()), y + h / 2, places=3)

    def test_ids_restart_and_models_are_built_once(self):
        built = len(phalp_module.BUILT)
        again = self.backend.track(iter(people_frames(14, gaps=(8, 9))))
        self.assertEqual(rows(again), rows(self.result))
        self.assertEqual(len(phalp_module.BUILT), built)
        self.assertIsNone(phalp_module.BUILT[-1].visualizer)


class ResultsFolderTest(unittest.TestCase):
    def test_one_folder_per_worker_and_a_dead_workers_folder_is_removed(self):
        import subprocess
        import sys
        import tempfile
        from posepipe.backends.phalp_model import results_folder
        import shutil
        base = tempfile.mkdtemp(prefix="posepipe-results-test-")
        self.addCleanup(shutil.rmtree, base, True)
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
        stale = os.path.join(base, f"posepipe-phalp-{dead.stdout.strip()}-abc123")
        alive = os.path.join(base, f"posepipe-phalp-{os.getppid()}-def456")  # the test runner's parent runs
        other = os.path.join(base, "posepipe-phalp-notapid")
        for folder in (stale, alive, other):
            os.makedirs(os.path.join(folder, "results"))
        mine = results_folder(base)
        self.assertTrue(os.path.basename(mine).startswith(f"posepipe-phalp-{os.getpid()}-"))
        self.assertEqual(sorted(os.listdir(base)), sorted(os.path.basename(f) for f in (alive, other, mine)))


class ReferenceTest(unittest.TestCase):
    """posepipe's batched features against PHALP's own per-frame get_human_features (the stand-in's
    reference follows the real contract: keys, shapes, the padded-square coordinates)."""

    def test_batched_detection_data_equals_phalp_get_human_features(self):
        backend = loaded(POSEPIPE_PHALP_BATCH=3)  # batches straddle frames: 2 people per frame
        frames = people_frames(6, gaps=(4,))
        for frame in frames[::2]:
            frame[10:40, 2:12] = 255  # a detection too small for PHALP (skipped), left of the others
        backend.track(iter(frames))
        phalp = phalp_module.BUILT[-1]
        for t, image in enumerate(frames):
            side = max(image.shape[:2])
            measurements = [image.shape[0], image.shape[1], side, (side - image.shape[1]) // 2, (side - image.shape[0]) // 2]
            bbox, bbox_pad, masks, scores, classes, gt, ann = phalp.get_detections(image, f"frame{t:06d}", t, {}, measurements)
            # As PHALP.track: extra_data from run_additional_models, the detector's own indices.
            extra = phalp.run_additional_models(image, bbox, masks, scores, classes, f"frame{t:06d}", t, measurements, gt, ann)
            want = [d.detection_data for d in phalp.get_human_features(
                image, masks, bbox, bbox_pad, scores, f"frame{t:06d}", classes, t, measurements, gt, ann, extra)]
            got = phalp.tracker.received[t]
            self.assertEqual(len(got), len(want))
            self.assertEqual([g["extra_data"] for g in got], ([1, 2] if t % 2 == 0 else [0, 1])[:len(got)])
            for g, w in zip(got, want):
                self.assertEqual(set(g), set(w))
                self.assertEqual(g["extra_data"], w["extra_data"])
                self.assertIsInstance(g["embedding"], torch.Tensor)  # a CPU tensor row, as PHALP keeps it
                self.assertEqual((tuple(g["embedding"].shape), g["embedding"].device.type), ((4096 + 229 + 99,), "cpu"))
                for key in sorted(set(w) - {"mask", "img_path", "img_name"}):
                    with self.subTest(frame=t, key=key):
                        if key == "smpl":
                            for k in w[key]:
                                np.testing.assert_allclose(g[key][k], w[key][k], atol=1e-5)
                        else:
                            np.testing.assert_allclose(np.asarray(g[key], dtype=float), np.asarray(w[key], dtype=float),
                                                       atol=1e-4)
                self.assertEqual((g["img_name"], g["mask"]), (w["img_name"], w["mask"]))


class BatchingTest(unittest.TestCase):
    def setUp(self):
        hmr2.models.CALLS.clear()

    def test_crops_batched_across_frames_up_to_the_cap(self):
        backend = loaded(POSEPIPE_PHALP_BATCH=5)
        result = backend.track(iter(people_frames(10)))
        sizes = [b for b, _ in hmr2.models.CALLS]
        self.assertEqual(sum(sizes), 20)  # two people in each of 10 frames
        self.assertLessEqual(max(sizes), 5)
        self.assertIn(5, sizes)  # more than one frame's crops in one batch
        hmr2.models.CALLS.clear()
        one = loaded(POSEPIPE_PHALP_BATCH=1).track(iter(people_frames(10)))
        self.assertEqual({b for b, _ in hmr2.models.CALLS}, {1})
        self.assertEqual(rows(one), rows(result))
        np.testing.assert_allclose(one[4]["smpl_betas"], result[4]["smpl_betas"], atol=1e-5)

    def test_out_of_memory_halves_the_cap_and_keeps_it(self):
        backend = loaded(POSEPIPE_PHALP_BATCH=8)
        reference = rows(backend.track(iter(people_frames(8))))
        hmr2.models.CALLS.clear()
        with mock.patch.dict(os.environ, {"POSEPIPE_STANDIN_OOM_ABOVE": "3"}):
            result = backend.track(iter(people_frames(8)))
        self.assertEqual(rows(result), reference)
        self.assertEqual(backend.cap.cap, 2)
        self.assertEqual(backend.ready_info()["batch"], 2)
        self.assertLessEqual(max(b for b, _ in hmr2.models.CALLS), 2)

    def test_out_of_memory_at_one_crop_is_oom_for_posepipe(self):
        backend = loaded(POSEPIPE_PHALP_BATCH=4)
        with mock.patch.dict(os.environ, {"POSEPIPE_STANDIN_OOM_ABOVE": "0"}):
            with self.assertRaises(MemoryError) as caught:
                backend.track(iter(people_frames(6)))
        self.assertEqual(kind_of(caught.exception), "oom")
        self.assertEqual(backend.cap.cap, 1)

    def test_other_errors_propagate_with_their_kind(self):
        backend = loaded()
        with mock.patch.dict(os.environ, {"POSEPIPE_STANDIN_FAIL_AT": "3"}):
            with self.assertRaisesRegex(ValueError, "frame 3") as caught:
                backend.track(iter(people_frames(6)))
        # Raised inside the backend: the backend's own error, not posepipe's.
        self.assertEqual(kind_of(caught.exception, in_backend=True), "tracker")

    def test_every_frame_is_tracked_past_1300(self):
        backend = loaded()
        frames = (np.zeros((120, 160, 3), np.uint8) for _ in range(1400))
        frame, *_ = backend.track(frames)
        self.assertEqual(len(frame), 0)
        updates = phalp_module.BUILT[-1].tracker.updates
        self.assertEqual([u[0] for u in updates], list(range(1400)))


class SettingsTest(unittest.TestCase):
    def setUp(self):
        hmr2.models.CALLS.clear()

    def test_precision_reaches_hmr2_as_autocast(self):
        loaded(POSEPIPE_PHALP_PRECISION="bf16").track(iter(people_frames(2)))
        self.assertEqual({d for _, d in hmr2.models.CALLS}, {torch.bfloat16})
        hmr2.models.CALLS.clear()
        backend = loaded(POSEPIPE_PHALP_PRECISION="auto")
        backend.track(iter(people_frames(2)))
        self.assertEqual(backend.precision, "fp32")  # auto on the CPU
        self.assertEqual({d for _, d in hmr2.models.CALLS}, {None})

    def test_low_memory_selects_the_regnety_detector(self):
        loaded(POSEPIPE_PHALP_LOW_MEMORY=1)
        self.assertEqual(phalp_module.BUILT[-1].cfg.phalp.detector, "maskrcnn")
        loaded()
        self.assertEqual(phalp_module.BUILT[-1].cfg.phalp.detector, "vitdet")

    def test_forced_weights_only_load_is_an_environment_error(self):
        # torch raises when both TORCH_FORCE_WEIGHTS_ONLY_LOAD and the NO_ variable posepipe sets are on.
        with mock.patch.dict(os.environ, {"TORCH_FORCE_WEIGHTS_ONLY_LOAD": "true"}):
            with self.assertRaisesRegex(EnvironmentProblem, "TORCH_FORCE_WEIGHTS_ONLY_LOAD") as caught:
                loaded()
        self.assertEqual(kind_of(caught.exception), "environment")
        with mock.patch.dict(os.environ, {"TORCH_FORCE_WEIGHTS_ONLY_LOAD": "0", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "0"}):
            PhalpBackend().load()
            self.assertEqual(os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"], "1")

    def test_bad_values_name_the_variable(self):
        for name, value in (("POSEPIPE_PHALP_BATCH", "0"), ("POSEPIPE_PHALP_BATCH", "many"),
                            ("POSEPIPE_PHALP_PRECISION", "fp8"), ("POSEPIPE_PHALP_LOW_MEMORY", "yes"),
                            ("POSEPIPE_PHALP_DEVICE", "tpu"), ("POSEPIPE_PHALP_PRECISION", "fp16")):
            with self.subTest(name=name, value=value):
                with self.assertRaisesRegex(EnvironmentProblem, name):
                    loaded(**{name: value})


if __name__ == "__main__":
    unittest.main()
