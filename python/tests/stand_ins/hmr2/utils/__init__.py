"""Stand-in for hmr2.utils: as the real package, importing it imports the renderers (and pyrender)."""
from .mesh_renderer import MeshRenderer  # noqa: F401
