"""Stand-in for OpenGL.GL: importing it makes PyOpenGL choose its platform (see ../platform)."""
from OpenGL import platform  # noqa: F401
