"""Stand-in for pyrender: `import pyrender` imports OpenGL.GL (PyOpenGL picks its platform then),
and OffscreenRenderer reads PYOPENGL_PLATFORM when each renderer is created (offscreen.py _create):
egl opens EGL device EGL_DEVICE_ID (default 0), osmesa needs PyOpenGL's platform to be osmesa,
unset is pyglet, which needs a display. CREATED lists (platform, device) of every renderer built.
"""
import ctypes.util
import os

import OpenGL.GL  # noqa: F401
from OpenGL import platform as _gl_platform

CREATED = []


class OffscreenRenderer:
    def __init__(self, viewport_width, viewport_height, point_size=1.0):
        platform = os.environ.get("PYOPENGL_PLATFORM")
        if platform is None:
            raise RuntimeError("stand-in pyrender: pyglet needs a display (PYOPENGL_PLATFORM is unset)")
        if platform == "egl":
            if not ctypes.util.find_library("EGL"):
                raise RuntimeError("stand-in pyrender: EGL platform requested but libEGL cannot be loaded")
            device = int(os.environ.get("EGL_DEVICE_ID", "0"))
        elif platform == "osmesa":
            if _gl_platform.PLATFORM != "osmesa":
                raise RuntimeError("stand-in pyrender: OSMesaCreateContextAttribs is unavailable: PyOpenGL "
                                   f"was loaded for {_gl_platform.PLATFORM!r}, not osmesa")
            device = None
        else:
            raise ValueError(f"Unsupported PyOpenGL platform: {platform}")
        self.viewport_width, self.viewport_height = viewport_width, viewport_height
        CREATED.append((platform, device))

    def delete(self):
        pass
