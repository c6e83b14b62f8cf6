"""OpenGL for the phalp backend on hosts with EGL, with OSMesa alone, and with neither.

The host is simulated for the stand-ins (POSEPIPE_STANDIN_GL_LIBS, see stand_ins/_gl_host.py): the
stand-in PyOpenGL chooses its platform once, at its first import, and loads that platform's
libraries; PHALP's py_renderer forces PYOPENGL_PLATFORM=egl on import; pyrender reads the variable
when a renderer is built. Every case runs in a fresh process, as PyOpenGL's choice is per process.
"""
import json
import os
import subprocess
import sys
import unittest

import phalp_stand_in_env as env

from posepipe.backends import phalp_gl

PYTHON_DIR = os.path.dirname(env.HERE)

LOAD = """
import json, os
from posepipe.backends.phalp import PhalpBackend
from posepipe.errors import EnvironmentProblem
try:
    PhalpBackend().load()
except EnvironmentProblem as e:
    print(json.dumps({"error": str(e)}))
    raise SystemExit(0)
import pyrender
from OpenGL import platform
print(json.dumps({"pyopengl": platform.PLATFORM, "variable": os.environ.get("PYOPENGL_PLATFORM"),
                  "renderers": pyrender.CREATED}))
"""

# What loading did before posepipe chose the platform: import PHALP with the user's variable, then
# build HMR2 with 4D-Humans' own load_hmr2 (which opens a renderer).
NAIVE = """
import json
try:
    from phalp.trackers.PHALP import PHALP
    from hmr2.models import load_hmr2
    load_hmr2()
    import pyrender
    print(json.dumps({"renderers": pyrender.CREATED}))
except Exception as e:
    print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
"""


def run(code: str, libs: str, platform: str = "") -> dict:
    child = {k: v for k, v in os.environ.items() if not k.startswith(("POSEPIPE_", "PYOPENGL_", "EGL_"))}
    child.update(PYTHONPATH=os.pathsep.join((env.STAND_INS, PYTHON_DIR)), HOME=env.HOME,
                 POSEPIPE_PHALP_DEVICE="cpu", POSEPIPE_STANDIN_GL_LIBS=libs, PYTHONDONTWRITEBYTECODE="1")
    if platform:
        child["PYOPENGL_PLATFORM"] = platform
    out = subprocess.run([sys.executable, "-c", code], env=child, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


class ChooseTest(unittest.TestCase):
    def test_the_platform_for_each_host(self):
        egl = {"EGL": "libEGL.so.1", "OpenGL": "libOpenGL.so.0", "GL": None, "OSMesa": None}
        osmesa = {"EGL": None, "OpenGL": None, "GL": None, "OSMesa": "libOSMesa.so.8"}
        both = {"EGL": "libEGL.so.1", "OpenGL": None, "GL": "libGL.so.1", "OSMesa": "libOSMesa.so.8"}
        none = {"EGL": "libEGL.so.1", "OpenGL": None, "GL": None, "OSMesa": None}  # EGL without any GL library
        self.assertEqual(phalp_gl.choose("", egl)[0], "egl")
        self.assertEqual(phalp_gl.choose("", osmesa)[0], "osmesa")
        self.assertEqual(phalp_gl.choose("", both)[0], "egl")
        self.assertEqual(phalp_gl.choose("osmesa", both), ("osmesa", "osmesa (PYOPENGL_PLATFORM)"))
        platform, why = phalp_gl.choose("", none)
        self.assertIsNone(platform)
        self.assertIn("libosmesa6", why)
        self.assertIn("libegl1 libopengl0", why)
        platform, why = phalp_gl.choose("egl", osmesa)
        self.assertEqual((platform, why), (None, "PYOPENGL_PLATFORM=egl but libEGL cannot be loaded: "
                                                 "sudo apt-get install libegl1 libopengl0"))
        platform, why = phalp_gl.choose("glx", both)
        self.assertIsNone(platform)
        self.assertIn("PYOPENGL_PLATFORM=glx cannot work headless", why)


class HostTest(unittest.TestCase):
    def test_without_egl_posepipe_loads_with_osmesa_and_builds_no_renderer(self):
        for exported in ("", "osmesa"):
            with self.subTest(PYOPENGL_PLATFORM=exported or "(unset)"):
                got = run(LOAD, "OSMesa", exported)
                self.assertEqual(got, {"pyopengl": "osmesa", "variable": "osmesa", "renderers": []})

    def test_the_naive_order_fails_without_egl_as_users_saw(self):
        # PHALP's import forces egl, so PyOpenGL looks for libEGL although osmesa was exported.
        got = run(NAIVE, "OSMesa", "osmesa")
        self.assertIn("Unable to load EGL library", got["error"])

    def test_with_egl_loads_with_egl_and_builds_no_renderer(self):
        self.assertEqual(run(LOAD, "EGL,OpenGL"), {"pyopengl": "egl", "variable": "egl", "renderers": []})
        # 4D-Humans' own load_hmr2 would have opened one (on EGL device 0).
        self.assertEqual(run(NAIVE, "EGL,OpenGL"), {"renderers": [["egl", 0]]})

    def test_no_gl_at_all_is_an_environment_error_naming_both_fixes(self):
        got = run(LOAD, "")
        self.assertIn("neither EGL", got["error"])
        self.assertIn("sudo apt-get install libegl1 libopengl0", got["error"])
        self.assertIn("libosmesa6", got["error"])


if __name__ == "__main__":
    unittest.main()
