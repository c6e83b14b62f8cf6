"""TEST FIXTURE, not a tracker: a backend whose faults are switched on by environment variables,
so tests can make the real worker misbehave in each way the pipeline must survive.

It "detects" one box per frame (track 1) whose position comes from the frame's content: x is the
mean intensity of the frame (every 4th pixel, 0..255), y is the mean of its top half, the size is
half the frame and the score is x / 255. The same frame always gives the same row, and frames that
look different give different rows, so tests can tell which frames were tracked.

For size tests (long or crowded videos without a GPU), it can stand in for the phalp backend's
output: POSEPIPE_TEST_FIXTURE_PEOPLE=n gives n people per frame (tracks 1..n, side by side: person
p's box is (x + p * width / n, y, width / 2n, height / 2), so n = 1 is the box above), and
POSEPIPE_TEST_FIXTURE_EXTRAS=phalp gives each of them every phalp extra with its shape and float32
values (keypoints2d 45x2, joints3d 45x3, smpl_global_orient 1x3x3, smpl_body_pose 23x3x3,
smpl_betas 10, camera_translation 3, focal_length), a pure function of the frame: about as many
bytes of JSON per person as phalp writes.

Those SMPL values are arbitrary (the "rotations" are rotations, but nothing else holds). With
POSEPIPE_TEST_FIXTURE_SMPL=1 (which implies the phalp extras) they are valid instead, each a pure
function of the absolute frame index and the person, and each person misses some frames (no row,
as phalp writes none for a person it only predicts): see test_fixture_smpl.py, whose `truth()`
gives the expected values. The boxes, keypoints2d and joints3d stay as above (joints3d is not
made consistent with the pose).

Knobs, all off by default; frame numbers n count the frames handed to the backend in one request
(skipped `start` frames are not handed to it):

  POSEPIPE_TEST_FIXTURE_PRINT=1          print to stdout (Python and raw fd 1) at load and per frame
  POSEPIPE_TEST_FIXTURE_IMPORT_ERROR=m   load() fails with ImportError for module m
  POSEPIPE_TEST_FIXTURE_FAIL_LOAD_ON=d   load() fails with an environment error in the worker pinned
                                         to device d (POSEPIPE_TEST_FIXTURE_DEVICE=d, e.g. cuda:1:
                                         a tracker slot whose backend cannot load)
  POSEPIPE_TEST_FIXTURE_SPAWN_CHILD=1    start `sleep 3600` at load (a helper process in the
                                         worker's group, which a group kill must reach); its pid
                                         is logged on stderr as "test-fixture: child pid N"
  POSEPIPE_TEST_FIXTURE_PEOPLE=n         n people in every frame (default 1)
  POSEPIPE_TEST_FIXTURE_EXTRAS=phalp     phalp-shaped extras for every person (default: none)
  POSEPIPE_TEST_FIXTURE_SMPL=1           phalp extras whose SMPL values are valid and known, and
                                         gaps in each person's track (test_fixture_smpl.py)
  POSEPIPE_TEST_FIXTURE_LOAD_SECONDS=s   sleep s seconds in load(), after logging "test-fixture:
                                         loading for s s" on stderr (a model that loads slowly)
  POSEPIPE_TEST_FIXTURE_FRAME_SECONDS=s  sleep s seconds per frame (a slow but healthy worker)
  POSEPIPE_TEST_FIXTURE_HANG_AT=n        stop forever at frame n without progress (a hang)
  POSEPIPE_TEST_FIXTURE_STUCK_AT=n       stop forever at frame n but keep calling
                                         frames.heartbeat(): progress keeps coming, frozen at n
  POSEPIPE_TEST_FIXTURE_OOM_ABOVE=n      MemoryError when one request hands the backend more than
                                         n frames (the chunk plus its overlap is too long; a
                                         request of n frames or fewer, e.g. a split half, fits)
  POSEPIPE_TEST_FIXTURE_CRASH_AT=n       SIGKILL itself at frame n (a native crash)
  POSEPIPE_TEST_FIXTURE_EXIT_AT=n        os._exit(0) at frame n: exit 0 without a result
                                         (an exception swallowed by library code that then exits)
  POSEPIPE_TEST_FIXTURE_LEAK_MB=n        allocate n MB per request and keep it for the life of the
                                         process, so resident memory grows chunk after chunk
  POSEPIPE_TEST_FIXTURE_FAIL_WHILE=path  raise RuntimeError (a `tracker` error: the backend's own)
                                         at the first frame of every request while `path` exists,
                                         so a test can fail a job and then let its resume succeed
"""

import os
import signal
import subprocess
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

    def __init__(self) -> None:
        self._leaked: List[Any] = []  # LEAK_MB: kept on purpose, never freed

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
        from .. import pinning
        broken = os.environ.get("POSEPIPE_TEST_FIXTURE_FAIL_LOAD_ON")
        if broken and pinning.pinned() == broken:
            from ..errors import EnvironmentProblem
            raise EnvironmentProblem(f"test-fixture: no backend on {broken} (POSEPIPE_TEST_FIXTURE_FAIL_LOAD_ON)")
        import numpy
        self._np = numpy
        load_seconds = float(os.environ.get("POSEPIPE_TEST_FIXTURE_LOAD_SECONDS") or 0)
        if load_seconds > 0:
            print(f"test-fixture: loading for {load_seconds:g} s", file=sys.stderr, flush=True)
            time.sleep(load_seconds)
        if os.environ.get("POSEPIPE_TEST_FIXTURE_SPAWN_CHILD") == "1":
            child = subprocess.Popen(["/bin/sleep", "3600"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            print(f"test-fixture: child pid {child.pid}", file=sys.stderr, flush=True)
        self._noise("test-fixture: loading, this line must not reach the protocol")

    def track(self, frames: Iterable[Any]) -> Tuple[Any, Any, Any, Any, Dict[str, Any]]:
        np = self._np
        seconds = float(os.environ.get("POSEPIPE_TEST_FIXTURE_FRAME_SECONDS") or 0)
        hang_at = _int_env("POSEPIPE_TEST_FIXTURE_HANG_AT")
        stuck_at = _int_env("POSEPIPE_TEST_FIXTURE_STUCK_AT")
        oom_above = _int_env("POSEPIPE_TEST_FIXTURE_OOM_ABOVE")
        crash_at = _int_env("POSEPIPE_TEST_FIXTURE_CRASH_AT")
        exit_at = _int_env("POSEPIPE_TEST_FIXTURE_EXIT_AT")
        leak_mb = _int_env("POSEPIPE_TEST_FIXTURE_LEAK_MB")
        fail_while = os.environ.get("POSEPIPE_TEST_FIXTURE_FAIL_WHILE")
        if fail_while and os.path.exists(fail_while):
            raise RuntimeError(f"test fixture: failing while {fail_while} exists")
        if leak_mb:
            # np.ones writes every page, so the memory is resident, not just reserved.
            self._leaked.append(np.ones(leak_mb * 1024 * 1024, dtype=np.uint8))
        rows: List[Tuple[float, float, float, float]] = []
        shape = (0, 0)
        for index, frame in enumerate(frames):
            if crash_at is not None and index >= crash_at:
                os.kill(os.getpid(), signal.SIGKILL)
            if exit_at is not None and index >= exit_at:
                os._exit(0)
            if oom_above is not None and index >= oom_above:
                raise MemoryError(f"test fixture: out of memory above {oom_above} frames in one request")
            if hang_at is not None and index >= hang_at:
                while True:
                    time.sleep(3600)
            if stuck_at is not None and index >= stuck_at:
                while True:
                    frames.heartbeat()  # type: ignore[attr-defined]
                    time.sleep(0.05)
            self._noise(f"test-fixture: frame {index}")
            if seconds:
                time.sleep(seconds)
            h, w = frame.shape[:2]
            shape = (h, w)
            sample = frame[::4, ::4]
            level = float(sample.mean())
            rows.append((level, float(sample[: max(1, sample.shape[0] // 2)].mean()), w / 2, h / 2))
        count = len(rows)
        people = _int_env("POSEPIPE_TEST_FIXTURE_PEOPLE") or 1
        extras_kind = os.environ.get("POSEPIPE_TEST_FIXTURE_EXTRAS") or ""
        smpl = os.environ.get("POSEPIPE_TEST_FIXTURE_SMPL") == "1"
        if people < 1 or extras_kind not in ("", "phalp"):
            raise RuntimeError("test fixture: POSEPIPE_TEST_FIXTURE_PEOPLE must be at least 1 and POSEPIPE_TEST_FIXTURE_EXTRAS empty or phalp")
        if smpl:
            extras_kind = "phalp"
        if people == 1 and not extras_kind:
            bbox = np.array(rows, dtype=np.float32).reshape(count, 4)
            return (np.arange(count, dtype=np.int32), np.ones(count, dtype=np.int32), bbox,
                    (bbox[:, 0] / 255.0).astype(np.float32), {})
        base = np.array(rows, dtype=np.float64).reshape(count, 4)
        # Row r is frame r // people, person r % people (sorted by frame, then track).
        frame = np.repeat(np.arange(count, dtype=np.int32), people)
        person = np.tile(np.arange(people, dtype=np.int32), count)
        b = base[frame]
        bbox = np.stack([b[:, 0] + person * 2 * b[:, 2] / people, b[:, 1], b[:, 2] / people, b[:, 3]], axis=1).astype(np.float32)
        score = (b[:, 0] / 255.0).astype(np.float32)
        extras = _phalp_extras(np, bbox, b[:, 0] / 255.0, person) if extras_kind == "phalp" else {}
        if smpl:
            from . import test_fixture_smpl
            first = int(getattr(frames, "first_frame", 0))
            seen = np.array([test_fixture_smpl.detected(first + int(f), int(p)) for f, p in zip(frame, person)], dtype=bool)
            frame, person, bbox, score = frame[seen], person[seen], bbox[seen], score[seen]
            extras = {name: value[seen] for name, value in extras.items()}
            height, width = shape
            extras.update(test_fixture_smpl.smpl_extras(first + frame, person, width, height))
        return frame, person + 1, bbox, score, extras


def _phalp_extras(np: Any, bbox: Any, level: Any, person: Any) -> Dict[str, Any]:
    """phalp's extras with their shapes, for rows with these boxes (x, y, w, h), frame levels (0..1)
    and person numbers: made up, but a pure function of them, with phalp's float32 values."""
    m = len(bbox)
    j = np.arange(45)
    x, y, w, h = (bbox[:, k:k + 1].astype(np.float64) for k in range(4))
    keypoints2d = np.stack([x + w * ((j % 5) / 4.0), y + h * ((j // 5) / 8.0)], axis=2)
    lv = level.reshape(m, 1)
    joints3d = np.stack([(j % 5) * 0.1 - 0.2 + lv * 0.01, (j // 5) * 0.1 - 0.4 + lv * 0.02, 0.05 * np.sin(j + lv)], axis=2)
    angle = (level * (person + 1)).reshape(m, 1)
    # Rotations about z by an angle from the frame, one per body part.
    parts = angle + np.arange(24) * 0.1
    c, s_ = np.cos(parts), np.sin(parts)
    zeros, ones = np.zeros_like(c), np.ones_like(c)
    rot = np.stack([np.stack([c, -s_, zeros], axis=2), np.stack([s_, c, zeros], axis=2), np.stack([zeros, zeros, ones], axis=2)], axis=2)
    betas = np.sin(np.arange(10) + lv * 3.0) * 0.5
    camera = np.stack([x[:, 0] / 1000.0 - 0.1, y[:, 0] / 1000.0 - 0.2, 5.0 + person + level], axis=1)
    focal = 5000.0 + level * 10.0
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)
    return {
        "keypoints2d": f32(keypoints2d),
        "joints3d": f32(joints3d),
        "smpl_global_orient": f32(rot[:, :1]),
        "smpl_body_pose": f32(rot[:, 1:]),
        "smpl_betas": f32(betas),
        "camera_translation": f32(camera),
        "focal_length": f32(focal),
    }
