"""Stand-in for phalp/visualize/py_renderer.py: like the real module it sets PYOPENGL_PLATFORM to
egl UNCONDITIONALLY at import, then imports pyrender."""
import os

os.environ["PYOPENGL_PLATFORM"] = "egl"

import pyrender  # noqa: E402


class Renderer:
    def __init__(self, focal_length=600, img_res=224, faces=None, metallicFactor=0.0):
        self.renderer = pyrender.OffscreenRenderer(viewport_width=img_res, viewport_height=img_res, point_size=1.0)
