"""OpenGL for the phalp backend: the PyOpenGL platform this host can load, fixed before PHALP is imported.

posepipe never renders, and builds no renderer (no visualizer, HMR2 without its mesh renderer), but
importing PHALP and HMR2 imports pyrender, whose `from OpenGL.GL import *` makes PyOpenGL choose
its platform once for the process, from PYOPENGL_PLATFORM, and load that platform's libraries then.
PHALP's phalp/visualize/py_renderer.py sets PYOPENGL_PLATFORM=egl unconditionally on import, so a
host without EGL failed even with PYOPENGL_PLATFORM=osmesa exported. posepipe therefore chooses the
platform itself (the user's PYOPENGL_PLATFORM when set, else EGL when libEGL and a GL library load,
else OSMesa), imports OpenGL.GL under it before PHALP (PyOpenGL keeps that platform for the process:
pyrender, PHALP and HMR2 reuse it), and puts the variable back after PHALP's import.
"""

import ctypes.util
import os
from typing import Callable, Dict, Optional, Tuple

from ..errors import EnvironmentProblem

Finder = Callable[[str], Optional[str]]
# What PyOpenGL loads for each platform: every group needs one of its libraries.
NEEDS = {"egl": (("EGL",), ("OpenGL", "GL")), "osmesa": (("OSMesa",),)}
INSTALL = {"egl": "sudo apt-get install libegl1 libopengl0", "osmesa": "sudo apt-get install libosmesa6"}


def libraries(find: Optional[Finder] = None) -> Dict[str, Optional[str]]:
    """Which GL libraries this host can load (the names PyOpenGL asks ctypes for)."""
    find = find or ctypes.util.find_library
    return {name: find(name) for name in ("EGL", "OpenGL", "GL", "OSMesa")}


def _missing(platform: str, libs: Dict[str, Optional[str]]) -> Optional[str]:
    for group in NEEDS[platform]:
        if not any(libs.get(name) for name in group):
            return " or ".join(f"lib{name}" for name in group)
    return None


def choose(wanted: str, libs: Dict[str, Optional[str]]) -> Tuple[Optional[str], str]:
    """(platform, why) for PYOPENGL_PLATFORM=`wanted` ("" when unset); platform None: why says the fix."""
    if wanted and wanted not in NEEDS:
        return None, (f"PYOPENGL_PLATFORM={wanted} cannot work headless: unset it (posepipe then picks egl or "
                      "osmesa) or set it to egl or osmesa")
    if wanted:
        missing = _missing(wanted, libs)
        if missing:
            return None, f"PYOPENGL_PLATFORM={wanted} but {missing} cannot be loaded: {INSTALL[wanted]}"
        return wanted, f"{wanted} (PYOPENGL_PLATFORM)"
    for platform in ("egl", "osmesa"):
        if _missing(platform, libs) is None:
            return platform, f"{platform} (found {', '.join(n for n in sorted(libs) if libs[n])})"
    return None, (f"neither EGL (libEGL and libOpenGL or libGL) nor OSMesa (libOSMesa) can be loaded: "
                  f"{INSTALL['egl']} (or {INSTALL['osmesa']} and PYOPENGL_PLATFORM=osmesa)")


def describe(libs: Dict[str, Optional[str]]) -> str:
    """`EGL libEGL.so.1, OpenGL libOpenGL.so.0, GL -, OSMesa -` for the doctor."""
    return ", ".join(f"{name} {path or '-'}" for name, path in libs.items())


def prepare(find: Optional[Finder] = None) -> str:
    """Choose the platform, set PYOPENGL_PLATFORM and import OpenGL.GL under it (PyOpenGL's choice
    for the process) before PHALP is imported; the platform, or EnvironmentProblem."""
    platform, why = choose(os.environ.get("PYOPENGL_PLATFORM", ""), libraries(find))
    if platform is None:
        raise EnvironmentProblem(f"OpenGL for pyrender (PHALP and HMR2 import it): {why}")
    os.environ["PYOPENGL_PLATFORM"] = platform
    try:
        import OpenGL.GL  # noqa: F401  (PyOpenGL chooses its platform and loads its libraries now)
    except ImportError as e:
        raise EnvironmentProblem(f"PyOpenGL (pyrender's OpenGL) does not load with PYOPENGL_PLATFORM={platform}: "
                                 f"{e}; {INSTALL[platform]}") from e
    return platform


def restore(platform: str) -> None:
    """Undo PHALP's PYOPENGL_PLATFORM=egl after its import, for anything that reads the variable later."""
    os.environ["PYOPENGL_PLATFORM"] = platform
