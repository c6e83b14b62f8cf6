"""TEST FIXTURE, not a tracker: a backend whose faults are switched on by environment variables,
so tests can make the real worker misbehave in each way the pipeline must survive.

It "detects" one fixed box per frame (track 1). Knobs, all off by default:

  POSEPIPE_TEST_FIXTURE_PRINT=1          print to stdout (Python and raw fd 1) at load and per frame
  POSEPIPE_TEST_FIXTURE_IMPORT_ERROR=m   load() fails with ImportError for module m
  POSEPIPE_TEST_FIXTURE_FRAME_SECONDS=s  sleep s seconds per frame (a slow but healthy worker)
  POSEPIPE_TEST_FIXTURE_HANG_AT=n        stop forever at frame n without progress (a hang)
  POSEPIPE_TEST_FIXTURE_OOM_ABOVE=n      MemoryError when a chunk reaches frame n (chunk too long)
  POSEPIPE_TEST_FIXTURE_CRASH_AT=n       SIGKILL itself at frame n (a native crash)
"""

import os
import signal
import sys
import time
from typing import Any, Dict, Iterable, List, Optional, Tuple

VERSION = "0.0.1-test"


def _int_env(name: str) -> Optional[int]:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else None


class TestFixtureBackend:
    """A fault-injection stand-in for a real backend; see the module docstring."""

    name = "test-fixture"
    device = "cpu"
    version = VERSION

    def checks(self) -> List[Dict[str, Any]]:
        return [{"name": "test-fixture", "ok": True, "detail": "fault-injection backend for tests"}]

    def _noise(self, text: str) -> None:
        if os.environ.get("POSEPIPE_TEST_FIXTURE_PRINT") == "1":
            print(text)  # what a chatty library does
            sys.stdout.flush()
            os.write(1, (text + " (raw fd 1)\n").encode())  # what C code does

    def load(self) -> None:
        missing = os.environ.get("POSEPIPE_TEST_FIXTURE_IMPORT_ERROR")
        if missing:
            raise ImportError(f"No module named {missing!r}", name=missing)
        import numpy
        self._np = numpy
        self._noise("test-fixture: loading, this line must not reach the protocol")

    def track(self, frames: Iterable[Any]) -> Tuple[Any, Any, Any, Any, Dict[str, Any]]:
        np = self._np
        seconds = float(os.environ.get("POSEPIPE_TEST_FIXTURE_FRAME_SECONDS") or 0)
        hang_at = _int_env("POSEPIPE_TEST_FIXTURE_HANG_AT")
        oom_above = _int_env("POSEPIPE_TEST_FIXTURE_OOM_ABOVE")
        crash_at = _int_env("POSEPIPE_TEST_FIXTURE_CRASH_AT")
        count = 0
        size = (0, 0)
        for index, frame in enumerate(frames):
            size = frame.shape[:2]
            if crash_at is not None and index >= crash_at:
                os.kill(os.getpid(), signal.SIGKILL)
            if oom_above is not None and index >= oom_above:
                raise MemoryError(f"test fixture: out of memory above {oom_above} frames")
            if hang_at is not None and index >= hang_at:
                while True:
                    time.sleep(3600)
            self._noise(f"test-fixture: frame {index}")
            if seconds:
                time.sleep(seconds)
            count += 1
        h, w = size
        bbox = np.tile(np.array([[w / 4, h / 4, w / 2, h / 2]], dtype=np.float32), (count, 1))
        return (np.arange(count, dtype=np.int32), np.ones(count, dtype=np.int32), bbox,
                np.full(count, 0.5, dtype=np.float32), {})
