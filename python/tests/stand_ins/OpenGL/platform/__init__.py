"""Stand-in for OpenGL.platform: PyOpenGL chooses its platform ONCE, at the first import of this
module (pyrender's `from OpenGL.GL import *` does it), from PYOPENGL_PLATFORM (else, headless,
GLX), and loads that platform's libraries then: egl needs libEGL and a GL library (libOpenGL or
libGL), osmesa needs libOSMesa, glx needs libGL and libGLX. A missing library is an ImportError
with PyOpenGL's own words. Later changes to PYOPENGL_PLATFORM change nothing here.
"""
import ctypes.util
import os

NEEDS = {"egl": (("EGL",), ("OpenGL", "GL")), "osmesa": (("OSMesa",),), "glx": (("OpenGL", "GL"), ("GLX",))}
MESSAGES = {"egl": "Unable to load EGL library", "osmesa": "Unable to load OpenGL library",
            "glx": "Unable to load OpenGL library"}

PLATFORM = os.environ.get("PYOPENGL_PLATFORM") or "glx"
if PLATFORM not in NEEDS:
    raise ImportError(f"Unable to load platform plugin {PLATFORM!r}")
for alternatives in NEEDS[PLATFORM]:
    if not any(ctypes.util.find_library(name) for name in alternatives):
        raise ImportError(f"{MESSAGES[PLATFORM]} (stand-in: none of {', '.join(alternatives)} found)")
