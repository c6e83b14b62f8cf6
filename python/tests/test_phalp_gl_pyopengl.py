"""phalp_gl against the real PyOpenGL (Debian's python3-opengl, with libosmesa6): the platform
posepipe fixes before PHALP's import is the one PyOpenGL keeps, although PHALP then sets
PYOPENGL_PLATFORM=egl, and an OSMesa context really renders. No stand-in on the path here."""
import json
import os
import subprocess
import sys
import unittest

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROBE = """
import json, os
from posepipe.backends import phalp_gl
platform = phalp_gl.prepare()
# What importing PHALP does (phalp/visualize/py_renderer.py): egl, then pyrender's `from OpenGL.GL import *`.
os.environ["PYOPENGL_PLATFORM"] = "egl"
import OpenGL.GL
phalp_gl.restore(platform)
from OpenGL import arrays, osmesa
from OpenGL import platform as gl_platform
from OpenGL.GL import GL_VERSION, glGetString
context = osmesa.OSMesaCreateContextExt(osmesa.OSMESA_RGBA, 24, 0, 0, None)
pixels = arrays.GLubyteArray.zeros((32, 32, 4))
current = bool(osmesa.OSMesaMakeCurrent(context, pixels, 0x1401, 32, 32))  # GL_UNSIGNED_BYTE
print(json.dumps({"chosen": platform, "variable": os.environ["PYOPENGL_PLATFORM"],
                  "pyopengl": type(gl_platform.PLATFORM).__name__, "current": current,
                  "gl": glGetString(GL_VERSION).decode()}))
"""


class RealPyOpenGLTest(unittest.TestCase):
    def test_osmesa_chosen_before_phalp_stays_osmesa_and_renders(self):
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "POSEPIPE_STANDIN_GL_LIBS")}
        env.update(PYTHONPATH=PYTHON_DIR, PYOPENGL_PLATFORM="osmesa", PYTHONDONTWRITEBYTECODE="1")
        out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        got = json.loads(out.stdout.strip().splitlines()[-1])
        self.assertEqual({k: got[k] for k in ("chosen", "variable", "pyopengl", "current")},
                         {"chosen": "osmesa", "variable": "osmesa", "pyopengl": "OSMesaPlatform", "current": True})
        self.assertIn("Mesa", got["gl"])


if __name__ == "__main__":
    unittest.main()
