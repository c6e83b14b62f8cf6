"""A simulated set of OpenGL libraries for the stand-ins' tests.

POSEPIPE_STANDIN_GL_LIBS=OSMesa (a comma list of EGL, OpenGL, GL, GLX, GLESv2, OSMesa, or empty)
makes ctypes.util.find_library report those GL libraries alone, as on a host where only they are
installed: posepipe's platform choice and the OpenGL/pyrender stand-ins then see the same host.
Unset, the real host answers. sitecustomize.py applies it at start-up in every Python process that
has the stand-ins on PYTHONPATH; phalp_stand_in_env applies it in the test process itself.
"""
import os

GL_NAMES = ("EGL", "OpenGL", "GL", "GLX", "GLESv2", "OSMesa")


def simulate_from_env() -> None:
    present = os.environ.get("POSEPIPE_STANDIN_GL_LIBS")
    if present is None:
        return
    import ctypes.util
    real = getattr(ctypes.util.find_library, "real", ctypes.util.find_library)
    installed = {name.strip() for name in present.split(",") if name.strip()}

    def find_library(name):
        if name in GL_NAMES:
            return f"lib{name}.so (simulated)" if name in installed else None
        return real(name)

    find_library.real = real
    ctypes.util.find_library = find_library
