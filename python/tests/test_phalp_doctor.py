"""checks() for `posepipe doctor --tracker phalp`: one entry per requirement, a fix for each failure,
and one entry per file of the same list `posepipe models pull` fetches."""
import contextlib
import json
import os
import subprocess
import sys
import unittest
from unittest import mock

import phalp_stand_in_env as env
# Imported up front: patch.dict(sys.modules) below restores the dict on exit, dropping whatever was
# first imported inside the block, and a half-dropped torch cannot be imported again ("_C").
import torch  # noqa: F401,E402

from posepipe.backends import phalp_files
from posepipe.backends.phalp import PhalpBackend
from posepipe.errors import EnvironmentProblem

HEAD = ["venv", "settings", "import torch", "import hmr2", "import phalp", "import detectron2", "torch weights_only",
        "cuda", "opengl"]
PYTHON_DIR = os.path.dirname(env.HERE)


@contextlib.contextmanager
def moved_away(path):
    """The test HOME without this file, for the duration of the block."""
    os.rename(path, path + ".away")
    try:
        yield
    finally:
        os.rename(path + ".away", path)


def by_name(**knobs):
    with mock.patch.dict(os.environ, knobs):
        return {c["name"]: c for c in PhalpBackend().checks()}


def worker(*args, **knobs):
    """The real worker process with the stand-ins and the test HOME; its one JSON line."""
    child = {k: v for k, v in os.environ.items() if not k.startswith(("CUDA_", "POSEPIPE_PINNED"))}
    child.update(PYTHONPATH=os.pathsep.join((env.STAND_INS, PYTHON_DIR)), PYTHONDONTWRITEBYTECODE="1", **knobs)
    out = subprocess.run([sys.executable, os.path.join(PYTHON_DIR, "posepipe_worker.py"), *args], env=child,
                         capture_output=True, text=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


class DoctorTest(unittest.TestCase):
    def test_one_entry_per_item_and_a_fix_for_each_failure(self):
        checks = PhalpBackend().checks()
        files = [f"file {f['name']}" for f in phalp_files.manifest("vitdet")["files"]]
        self.assertEqual([c["name"] for c in checks], HEAD + files + ["smpl 4DHumans", "smpl phalp"])
        self.assertEqual(len(files), 12 + 1 + 1 + 2)  # PHALP's own, ResNet-50, hmr2_data, detectron2's two
        for c in checks:
            self.assertIsInstance(c["detail"], str)
            self.assertEqual("fix" in c, not c["ok"], c)
            if c["name"] != "venv":
                self.assertTrue(c["ok"], c)  # the stand-ins and the test HOME

    def test_the_doctor_checks_exactly_the_files_models_pull_lists(self):
        listed = worker("--models", "--backend", "phalp", HOME=env.HOME)
        checks = worker("--check", "--backend", "phalp", HOME=env.HOME)["checks"]
        file_checks = {c["name"][len("file "):]: c["detail"] for c in checks if c["name"].startswith("file ")}
        self.assertEqual(file_checks, {f["name"]: f["dest"] for f in listed["files"]})
        smpl = [c["detail"] for c in checks if c["name"].startswith("smpl ")]
        self.assertEqual(smpl, [m["dest"] for m in listed["manual"]])
        self.assertTrue(all(m["dest"].startswith(env.HOME) for m in listed["manual"]))

    def test_the_first_missing_file_fails_with_its_url_and_destination_and_so_does_load(self):
        entries = phalp_files.manifest("vitdet")["files"]
        first, later = entries[9], entries[11]  # pose_predictor.yaml, ava_class_mapping.pkl
        with moved_away(first["dest"]), moved_away(later["dest"]):
            checks = by_name()
            failed = [name for name, c in checks.items() if not c["ok"] and name != "venv"]
            self.assertEqual(failed, [f"file {first['name']}", f"file {later['name']}"])
            fix = checks[f"file {first['name']}"]["fix"]
            self.assertIn("posepipe models pull --tracker phalp", fix)
            self.assertIn("https://www.cs.utexas.edu/~pavlakos/phalp/weights/config_40006.yaml", fix)
            self.assertIn(first["dest"], fix)
            with self.assertRaises(EnvironmentProblem) as caught:
                PhalpBackend().load()
            message = str(caught.exception)
            self.assertIn(first["dest"], message)
            self.assertIn("config_40006.yaml", message)
            self.assertIn("posepipe models pull --tracker phalp", message)

    def test_a_file_missing_from_the_unpacked_hmr2_data_fails_its_archive(self):
        path = os.path.join(env.HOME, ".cache/4DHumans/logs/train/multiruns/hmr2/0/model_config.yaml")
        with moved_away(path):
            entry = by_name()["file hmr2_data.tar.gz"]
            self.assertFalse(entry["ok"])
            self.assertIn(path, entry["detail"])
            self.assertIn("hmr2_data.tar.gz", entry["fix"])
            with self.assertRaisesRegex(EnvironmentProblem, "model_config.yaml"):
                PhalpBackend().load()

    def test_missing_smpl_fails_its_check_and_load(self):
        path = os.path.join(env.HOME, ".cache/phalp/3D/models/smpl/SMPL_NEUTRAL.pkl")
        with moved_away(path):
            entry = by_name()["smpl phalp"]
            self.assertFalse(entry["ok"])
            self.assertIn(path, entry["fix"])
            self.assertIn("smpl.is.tue.mpg.de", entry["fix"])
            with self.assertRaisesRegex(EnvironmentProblem, "SMPL"):
                PhalpBackend().load()

    def test_detectron2_weights_are_checked_where_iopath_caches_them_for_the_chosen_detector(self):
        cache = os.path.join(env.HOME, ".torch/iopath_cache/detectron2")
        regnety = os.path.join(cache, "new_baselines/mask_rcnn_regnety_4gf_dds_FPN_400ep_LSJ/42045954/model_final_ef3a80.pkl")
        with moved_away(regnety):
            self.assertTrue(by_name()["file model_final_f05665.pkl"]["ok"])  # ViTDet: not this file
            entry = by_name(POSEPIPE_PHALP_LOW_MEMORY="1")["file model_final_ef3a80.pkl"]
        self.assertFalse(entry["ok"])
        self.assertIn(regnety, entry["fix"])
        self.assertIn("https://dl.fbaipublicfiles.com/detectron2/new_baselines/", entry["fix"])
        checks = by_name(FVCORE_CACHE=os.path.join(env.HOME, "elsewhere"))
        self.assertIn(os.path.join(env.HOME, "elsewhere", "detectron2", "ViTDet"), checks["file model_final_f05665.pkl"]["fix"])
        self.assertFalse(checks["file model_final_2d9806.pkl"]["ok"])

    def test_the_device_entry_reports_the_pinned_gpu(self):
        checks = {c["name"]: c for c in worker("--check", "--backend", "phalp", HOME=env.HOME,
                                                POSEPIPE_PHALP_DEVICE="cuda:1")["checks"]}
        self.assertFalse(checks["cuda"]["ok"])  # no GPU here
        self.assertIn("CUDA_VISIBLE_DEVICES=1", checks["cuda"]["detail"])

    def test_opengl_says_what_load_will_use(self):
        with mock.patch.dict(os.environ, {"PYOPENGL_PLATFORM": ""}):
            entry = by_name()["opengl"]
        self.assertTrue(entry["ok"])
        self.assertIn("platform egl", entry["detail"])
        self.assertIn("builds no renderer", entry["detail"])
        entry = by_name(PYOPENGL_PLATFORM="osmesa")["opengl"]  # the simulated host has no OSMesa
        self.assertFalse(entry["ok"])
        self.assertIn("libosmesa6", entry["fix"])

    def test_weights_only_check_uses_torchs_own_reading_of_the_variable(self):
        with mock.patch.object(torch, "__version__", "2.6.0+cu124"):
            for value, ok in (("1", False), ("yes", False), ("true", False), ("0", True), ("false", True), ("", True)):
                with self.subTest(value=value):
                    self.assertEqual(by_name(TORCH_FORCE_WEIGHTS_ONLY_LOAD=value)["torch weights_only"]["ok"], ok)

    def test_bad_setting_is_a_failed_entry_not_an_exception(self):
        entry = by_name(POSEPIPE_PHALP_BATCH="-3")["settings"]
        self.assertFalse(entry["ok"])
        self.assertIn("POSEPIPE_PHALP_BATCH", entry["detail"])

    def test_a_broken_import_is_reported_with_the_install_that_needs_no_neural_renderer(self):
        with mock.patch.dict("sys.modules", {"phalp": None}):
            entry = {c["name"]: c for c in PhalpBackend().checks()}["import phalp"]
        self.assertFalse(entry["ok"])
        self.assertIn("requirements-phalp-nodeps.txt", entry["fix"])
        self.assertIn("--no-deps", entry["fix"])


if __name__ == "__main__":
    unittest.main()
