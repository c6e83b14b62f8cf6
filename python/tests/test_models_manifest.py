"""`posepipe_worker.py --models`: the files each backend needs, as `posepipe models pull` reads them."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER = os.path.join(PYTHON_DIR, "posepipe_worker.py")


def models(backend, **env):
    child = {k: v for k, v in os.environ.items() if not k.startswith(("POSEPIPE_", "TORCH_HOME", "XDG_CACHE_HOME"))}
    child.update(env)
    out = subprocess.run([sys.executable, WORKER, "--models", "--backend", backend], env=child,
                         capture_output=True, text=True, timeout=120)
    return out.returncode, (json.loads(out.stdout) if out.returncode == 0 else out.stderr)


class KeypointsTest(unittest.TestCase):
    def test_the_coco_weights_go_where_torch_hub_looks_with_their_published_hash_prefix(self):
        home = tempfile.mkdtemp(prefix="posepipe-models-home-")
        self.addCleanup(os.rmdir, home)
        code, got = models("keypoints", HOME=home)
        self.assertEqual(code, 0, got)
        name = "keypointrcnn_resnet50_fpn_coco-fc266e95.pth"
        self.assertEqual(got, {"backend": "keypoints", "manual": [], "files": [{
            "name": name, "url": f"https://download.pytorch.org/models/{name}",
            "dest": os.path.join(home, ".cache", "torch", "hub", "checkpoints", name), "sha256Prefix": "fc266e95"}]})
        code, got = models("keypoints", HOME=home, TORCH_HOME="/opt/torch")
        self.assertEqual(got["files"][0]["dest"], f"/opt/torch/hub/checkpoints/{name}")

    def test_own_or_random_weights_need_no_download(self):
        self.assertEqual(models("keypoints", POSEPIPE_KEYPOINTS_WEIGHTS="random")[1]["files"], [])
        code, got = models("keypoints", POSEPIPE_KEYPOINTS_WEIGHTS="/data/my-weights.pth")
        self.assertEqual((got["files"], [m["dest"] for m in got["manual"]]), ([], ["/data/my-weights.pth"]))


class OtherBackendsTest(unittest.TestCase):
    def test_builtin_needs_nothing(self):
        self.assertEqual(models("builtin"), (0, {"backend": "builtin", "files": [], "manual": []}))

    def test_a_bad_setting_exits_2_naming_the_variable(self):
        code, err = models("phalp", POSEPIPE_PHALP_LOW_MEMORY="yes")
        self.assertEqual(code, 2)
        self.assertIn("POSEPIPE_PHALP_LOW_MEMORY", err)
        self.assertNotIn("Traceback", err)


if __name__ == "__main__":
    unittest.main()
