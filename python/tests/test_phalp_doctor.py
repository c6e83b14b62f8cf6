"""checks() for `posepipe doctor --tracker phalp`: one entry per requirement, a fix for each failure."""
import contextlib
import os
import unittest
from unittest import mock

import phalp_stand_in_env as env
# Imported up front: patch.dict(sys.modules) below restores the dict on exit, dropping whatever was
# first imported inside the block, and a half-dropped torch cannot be imported again ("_C").
import torch  # noqa: F401,E402

from posepipe.backends.phalp import PhalpBackend
from posepipe.errors import EnvironmentProblem

NAMES = ["venv", "settings", "import torch", "import hmr2", "import phalp", "import detectron2", "torch weights_only",
         "cuda", "egl/osmesa", "smpl 4DHumans", "smpl phalp", "checkpoint hmr2", "checkpoint hmar",
         "checkpoint pose predictor", "checkpoint detector", "checkpoint mask rcnn"]


@contextlib.contextmanager
def moved_away(path):
    """The test HOME without this file, for the duration of the block."""
    os.rename(path, path + ".away")
    try:
        yield
    finally:
        os.rename(path + ".away", path)


class DoctorTest(unittest.TestCase):
    def test_one_entry_per_item_and_a_fix_for_each_failure(self):
        checks = PhalpBackend().checks()
        self.assertEqual([c["name"] for c in checks], NAMES)
        for c in checks:
            self.assertIsInstance(c["detail"], str)
            self.assertEqual("fix" in c, not c["ok"], c)
        by_name = {c["name"]: c for c in checks}
        for name in NAMES[2:6] + NAMES[9:]:
            self.assertTrue(by_name[name]["ok"], by_name[name])  # the stand-ins and the test HOME
        self.assertFalse(by_name["cuda"]["ok"])  # no GPU here

    def test_missing_smpl_fails_its_check_and_load(self):
        path = os.path.join(env.HOME, ".cache/phalp/3D/models/smpl/SMPL_NEUTRAL.pkl")
        with moved_away(path):
            entry = {c["name"]: c for c in PhalpBackend().checks()}["smpl phalp"]
            self.assertFalse(entry["ok"])
            self.assertIn(path, entry["fix"])
            with self.assertRaisesRegex(EnvironmentProblem, "SMPL"):
                PhalpBackend().load()

    def test_missing_hmr2_model_config_fails_its_check_and_load(self):
        # load_hmr2 reads model_config.yaml two folders above the checkpoint (4D-Humans' hmr2/models).
        path = os.path.join(env.HOME, ".cache/4DHumans/logs/train/multiruns/hmr2/0/model_config.yaml")
        with moved_away(path):
            entry = {c["name"]: c for c in PhalpBackend().checks()}["checkpoint hmr2"]
            self.assertFalse(entry["ok"])
            self.assertIn(path, entry["detail"])
            self.assertIn("demo.py", entry["fix"])
            with self.assertRaisesRegex(EnvironmentProblem, "model_config.yaml"):
                PhalpBackend().load()

    def test_detectron2_weights_are_checked_where_iopath_caches_them_for_the_chosen_detector(self):
        cache = os.path.join(env.HOME, ".torch/iopath_cache/detectron2")
        with mock.patch.dict(os.environ, {"POSEPIPE_PHALP_LOW_MEMORY": "1"}):
            entry = {c["name"]: c for c in PhalpBackend().checks()}["checkpoint detector"]
        regnety = os.path.join(cache, "new_baselines/mask_rcnn_regnety_4gf_dds_FPN_400ep_LSJ/42045954/model_final_ef3a80.pkl")
        self.assertFalse(entry["ok"])  # the test HOME has the ViTDet file only
        self.assertIn(regnety, entry["fix"])
        self.assertIn("https://dl.fbaipublicfiles.com/detectron2/new_baselines/", entry["fix"])
        with mock.patch.dict(os.environ, {"FVCORE_CACHE": os.path.join(env.HOME, "elsewhere")}):
            checks = {c["name"]: c for c in PhalpBackend().checks()}
        self.assertFalse(checks["checkpoint detector"]["ok"])
        self.assertIn(os.path.join(env.HOME, "elsewhere", "detectron2", "ViTDet"), checks["checkpoint detector"]["fix"])
        self.assertFalse(checks["checkpoint mask rcnn"]["ok"])

    def test_weights_only_check_uses_torchs_own_reading_of_the_variable(self):
        import torch
        with mock.patch.object(torch, "__version__", "2.6.0+cu124"):
            for value, ok in (("1", False), ("yes", False), ("true", False), ("0", True), ("false", True), ("", True)):
                with self.subTest(value=value), mock.patch.dict(os.environ, {"TORCH_FORCE_WEIGHTS_ONLY_LOAD": value}):
                    entry = {c["name"]: c for c in PhalpBackend().checks()}["torch weights_only"]
                    self.assertEqual(entry["ok"], ok, entry)

    def test_bad_setting_is_a_failed_entry_not_an_exception(self):
        with mock.patch.dict(os.environ, {"POSEPIPE_PHALP_BATCH": "-3"}):
            entry = {c["name"]: c for c in PhalpBackend().checks()}["settings"]
        self.assertFalse(entry["ok"])
        self.assertIn("POSEPIPE_PHALP_BATCH", entry["detail"])

    def test_a_broken_import_is_reported_with_its_fix(self):
        with mock.patch.dict("sys.modules", {"detectron2": None}):
            entry = {c["name"]: c for c in PhalpBackend().checks()}["import detectron2"]
        self.assertFalse(entry["ok"])
        self.assertIn("pip install", entry["fix"])


if __name__ == "__main__":
    unittest.main()
