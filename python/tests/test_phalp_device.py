"""The phalp backend's device: PHALP needs CUDA, so a real install on the CPU is refused at once."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import phalp_stand_in_env as env

PYTHON_DIR = os.path.dirname(env.HERE)
WORKER = os.path.join(PYTHON_DIR, "posepipe_worker.py")


def real_looking_site() -> str:
    """A site folder holding a `phalp` package as pip installs it: the stand-in's modules without the
    stand-in's marker, and the distribution metadata a real install has."""
    site = tempfile.mkdtemp(prefix="posepipe-real-phalp-")
    shutil.copytree(os.path.join(env.STAND_INS, "phalp"), os.path.join(site, "phalp"))
    with open(os.path.join(site, "phalp", "__init__.py"), "w") as f:
        f.write('__version__ = "0.1.3"\n')
    os.makedirs(os.path.join(site, "phalp-0.1.3.dist-info"))
    with open(os.path.join(site, "phalp-0.1.3.dist-info", "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\nName: phalp\nVersion: 0.1.3\n")
    return site


def serve_once(site_first: str, device: str) -> dict:
    """Start the real worker (serve) and return its first event."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("POSEPIPE_", "CUDA_"))}
    child_env.update(PYTHONPATH=os.pathsep.join(p for p in (site_first, env.STAND_INS, PYTHON_DIR) if p),
                     HOME=env.HOME, POSEPIPE_PHALP_DEVICE=device, PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([sys.executable, WORKER, "--backend", "phalp"], input="", env=child_env,
                         capture_output=True, text=True, timeout=120)
    return {"code": out.returncode, "event": json.loads(out.stdout.splitlines()[0]), "stderr": out.stderr}


class RefuseCpuTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.site = real_looking_site()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.site, ignore_errors=True)

    def test_cpu_with_a_real_looking_install_is_an_environment_error_saying_why(self):
        for device, why in (("cpu", "POSEPIPE_PHALP_DEVICE=cpu"), ("auto", "no CUDA device is visible")):
            with self.subTest(device=device):
                got = serve_once(self.site, device)
                self.assertEqual(got["code"], 3, got["stderr"])
                event = got["event"]
                self.assertEqual((event["type"], event["kind"]), ("error", "environment"))
                self.assertIn(why, event["message"])
                self.assertIn("PHALP needs a CUDA GPU", event["message"])
                self.assertIn("posepipe doctor", event["message"])

    def test_the_stand_ins_alone_may_run_on_the_cpu(self):
        got = serve_once("", "cpu")
        self.assertEqual(got["event"]["type"], "ready", got["stderr"])
        self.assertEqual(got["event"]["device"], "cpu")


if __name__ == "__main__":
    unittest.main()
