"""Shared set-up for the phalp tests: the stand-ins on sys.path and a HOME with the caches in place.

Imported before anything from the stand-ins, because their cache folders are read from HOME at import.
"""
import atexit
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
STAND_INS = os.path.join(HERE, "stand_ins")
for path in (STAND_INS, os.path.join(os.path.dirname(HERE))):
    if path not in sys.path:
        sys.path.insert(0, path)

# A host with EGL, whatever this machine has (test_phalp_gl.py simulates the others).
os.environ.setdefault("POSEPIPE_STANDIN_GL_LIBS", "EGL,OpenGL")
import _gl_host  # noqa: E402
_gl_host.simulate_from_env()

HOME = tempfile.mkdtemp(prefix="posepipe-phalp-home-")
atexit.register(shutil.rmtree, HOME, True)  # one per test run: it left a folder in /tmp every run
os.environ["HOME"] = HOME
os.environ.pop("FVCORE_CACHE", None)
os.environ.pop("TORCH_HOME", None)
os.environ.pop("XDG_CACHE_HOME", None)
# Every file of `posepipe models pull --list` (both detectors) and the SMPL models, empty, where
# the libraries look: the same list the doctor and load() check.
from posepipe.backends import phalp_files  # noqa: E402

CACHE_FILES = sorted({path for detector in ("vitdet", "maskrcnn") for entry in phalp_files.manifest(detector)["files"]
                      for path in (entry["unpack"]["provides"] if "unpack" in entry else [entry["dest"]])}
                     | {m["dest"] for m in phalp_files.manifest("vitdet")["manual"]})
for path in CACHE_FILES:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").close()

KNOBS = ("POSEPIPE_PHALP_BATCH", "POSEPIPE_PHALP_PRECISION", "POSEPIPE_PHALP_LOW_MEMORY", "POSEPIPE_PHALP_DEVICE",
         "POSEPIPE_PHALP_FRAMES_WINDOW", "POSEPIPE_STANDIN_OOM_ABOVE", "POSEPIPE_STANDIN_FAIL_AT")
for knob in KNOBS:
    os.environ.pop(knob, None)
os.environ["POSEPIPE_PHALP_DEVICE"] = "cpu"


def people_frames(count, gaps=(), width=320, height=240):
    """BGR frames with two bright 'people' (60 x 120): A walks right, B stands still and is hidden
    in the frames listed in `gaps` (so the tracker carries a ghost for it there)."""
    import numpy as np
    frames = []
    for t in range(count):
        frame = np.zeros((height, width, 3), np.uint8)
        frame[60:180, 40 + 2 * t:100 + 2 * t] = 255
        if t not in gaps:
            frame[50:170, 200:260] = 250
        frames.append(frame)
    return frames
