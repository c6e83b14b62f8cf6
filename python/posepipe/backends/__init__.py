"""Backends by name. A backend is a class with this small interface (see builtin.py):

    name: str, version: str, device: str   (version/device are final after load())
    load() -> None            import heavy dependencies and build models, once per process;
                              ImportError / EnvironmentProblem -> an "environment" error
    track(frames) -> (frame, track, bbox, score, extras)
                              frames: an iterator of BGR uint8 frames (H, W, 3); frame indices in
                              the result are positions in that iterator; track ids start at 1 on
                              every call; extras: name -> numpy array with first dimension M;
                              frames.heartbeat() sends progress without advancing it: call it
                              during long work that pulls no frames (see worker.Frames)
    checks() -> list of {"name", "ok", "detail"}   for `--check` (posepipe doctor)
    ready_info() -> dict      optional: facts for the `ready` event (protocol.READY_INFO keys:
                              precision, batch, memoryTotalMb, memoryFreeMb)
    release() -> None         optional: called after every request, e.g. to give device memory back

Modules are imported only when their backend is asked for, so a missing dependency of one
backend never breaks another.
"""

import importlib
from typing import Any, Dict

from ..errors import EnvironmentProblem

# name -> (module, class). "test-fixture" exists for tests of the pipeline's failure handling.
KNOWN: Dict[str, tuple] = {
    "builtin": ("posepipe.backends.builtin", "BuiltinBackend"),
    "keypoints": ("posepipe.backends.keypoints", "KeypointsBackend"),
    "phalp": ("posepipe.backends.phalp", "PhalpBackend"),
    "test-fixture": ("posepipe.backends.test_fixture", "TestFixtureBackend"),
}


def create(name: str) -> Any:
    """Instantiate the named backend (not loaded yet); unknown names list the known ones."""
    if name not in KNOWN:
        raise EnvironmentProblem(f"unknown backend {name!r}; known backends: {', '.join(sorted(KNOWN))}")
    module_name, class_name = KNOWN[name]
    module = importlib.import_module(module_name)
    return getattr(module, class_name)()
