"""Stand-in for hmr2/utils/mesh_renderer.py: sets PYOPENGL_PLATFORM=egl only when it is unset, imports
pyrender, and MeshRenderer opens an OffscreenRenderer(256, 256) when it is built."""
import os

if "PYOPENGL_PLATFORM" not in os.environ:
    os.environ["PYOPENGL_PLATFORM"] = "egl"

import pyrender  # noqa: E402


class MeshRenderer:
    def __init__(self, cfg, faces=None):
        self.renderer = pyrender.OffscreenRenderer(viewport_width=256, viewport_height=256, point_size=1.0)
