"""The worker pinned to its configured GPU: CUDA_VISIBLE_DEVICES and friends, set before CUDA starts."""
import json
import os
import subprocess
import sys
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from posepipe import pinning  # noqa: E402
from posepipe.backends import torch_device  # noqa: E402
from posepipe.errors import EnvironmentProblem  # noqa: E402


class PinTest(unittest.TestCase):
    def test_cuda_n_makes_gpu_n_the_only_one_visible(self):
        env = {"POSEPIPE_PHALP_DEVICE": "cuda:1"}
        self.assertEqual(pinning.pin("phalp", env), "cuda:1")
        self.assertEqual(env["CUDA_VISIBLE_DEVICES"], "1")
        self.assertEqual(env["CUDA_DEVICE_ORDER"], "PCI_BUS_ID")
        self.assertEqual(env["EGL_DEVICE_ID"], "1")
        self.assertEqual(pinning.describe(env), "cuda:1 (CUDA_VISIBLE_DEVICES=1)")

    def test_an_inherited_list_is_indexed_and_the_users_order_kept(self):
        env = {"POSEPIPE_KEYPOINTS_DEVICE": "cuda:1", "CUDA_VISIBLE_DEVICES": "2, 3", "CUDA_DEVICE_ORDER": "FASTEST_FIRST"}
        self.assertEqual(pinning.pin("keypoints", env), "cuda:1")
        self.assertEqual((env["CUDA_VISIBLE_DEVICES"], env["CUDA_DEVICE_ORDER"]), ("3", "FASTEST_FIRST"))
        uuids = {"POSEPIPE_PHALP_DEVICE": "cuda", "CUDA_VISIBLE_DEVICES": "GPU-aa,GPU-bb"}
        self.assertEqual(pinning.pin("phalp", uuids), "cuda:0")
        self.assertEqual(uuids["CUDA_VISIBLE_DEVICES"], "GPU-aa")
        self.assertNotIn("EGL_DEVICE_ID", uuids)  # no index to give EGL

    def test_nothing_changes_without_an_explicit_gpu(self):
        for value in ("", "auto", "cpu", "tpu", "cuda:x"):
            env = {"POSEPIPE_PHALP_DEVICE": value} if value else {}
            with self.subTest(value=value):
                self.assertIsNone(pinning.pin("phalp", env))
                self.assertEqual(env, {"POSEPIPE_PHALP_DEVICE": value} if value else {})
        hidden = {"POSEPIPE_PHALP_DEVICE": "cuda:0", "CUDA_VISIBLE_DEVICES": ""}
        self.assertIsNone(pinning.pin("phalp", hidden))
        beyond = {"POSEPIPE_PHALP_DEVICE": "cuda:2", "CUDA_VISIBLE_DEVICES": "0,1"}
        self.assertIsNone(pinning.pin("phalp", beyond))
        self.assertEqual(beyond["CUDA_VISIBLE_DEVICES"], "0,1")

    def test_each_backend_reads_its_own_variable(self):
        self.assertEqual(pinning.device_variable("test-fixture"), "POSEPIPE_TEST_FIXTURE_DEVICE")
        self.assertIsNone(pinning.pin("keypoints", {"POSEPIPE_PHALP_DEVICE": "cuda:1"}))


class ResolveTest(unittest.TestCase):
    def test_a_pinned_gpu_is_cuda_0_inside(self):
        with mock.patch.dict(os.environ, {pinning.PINNED: "cuda:3", "CUDA_VISIBLE_DEVICES": "3"}):
            self.assertEqual(torch_device.resolve_device("POSEPIPE_PHALP_DEVICE", "cuda:3", 1, "2.5"), "cuda:0")
            with self.assertRaisesRegex(EnvironmentProblem, "CUDA_VISIBLE_DEVICES=3"):
                torch_device.resolve_device("POSEPIPE_PHALP_DEVICE", "cuda:3", 0, "2.5")
        with mock.patch.dict(os.environ, {}, clear=False):
            os.environ.pop(pinning.PINNED, None)
            self.assertEqual(torch_device.resolve_device("POSEPIPE_PHALP_DEVICE", "cuda:1", 2, "2.5"), "cuda:1")


class WorkerProcessTest(unittest.TestCase):
    def test_the_worker_process_runs_with_the_configured_gpu_alone(self):
        # The real entry point, up to the point where the backend would be imported.
        probe = ("import os, runpy, sys; sys.argv = ['posepipe_worker.py', '--backend', 'phalp', '--check'];"
                 "import posepipe.worker as w; w.check = lambda fd, name: os.write(fd, (__import__('json').dumps("
                 "{k: os.environ.get(k) for k in ('CUDA_VISIBLE_DEVICES', 'CUDA_DEVICE_ORDER', 'POSEPIPE_PINNED_DEVICE')})"
                 " + '\\n').encode()) and 0;"
                 "runpy.run_path(os.path.join(sys.path[0], 'posepipe_worker.py'), run_name='__main__')")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CUDA_", "POSEPIPE_"))}
        env.update(POSEPIPE_PHALP_DEVICE="cuda:1", PYTHONPATH=os.path.dirname(HERE))
        out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60,
                             cwd=os.path.dirname(HERE))
        self.assertEqual(out.returncode, 0, out.stderr)
        seen = json.loads(out.stdout.strip().splitlines()[-1])
        self.assertEqual(seen, {"CUDA_VISIBLE_DEVICES": "1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID", "POSEPIPE_PINNED_DEVICE": "cuda:1"})


if __name__ == "__main__":
    unittest.main()
