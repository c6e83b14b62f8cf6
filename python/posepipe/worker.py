"""The serve loop: load the backend once, then answer track requests one at a time.

posepipe_worker.py has already moved the real stdout to `protocol_fd` and pointed fd 1 at
stderr, so nothing a library prints can corrupt the protocol.
"""

import json
import os
import pickle
import sys
import time
import traceback
from typing import Any, Callable, Dict, List

from . import CHUNK_SCHEMA, pinning
from .errors import BackendError, EnvironmentProblem, InputError, RequestError, kind_of
from .protocol import EventWriter, failure_mark, parse_request, quote, request_id_of

PROGRESS_SECONDS = 0.5  # half the promised 1 s, so one slow frame does not break the promise


def check(protocol_fd: int, backend_name: str) -> int:
    """`--check`: report every import and the backend's load as one JSON object; 0 if all ok."""
    checks: List[Dict[str, Any]] = [{"name": "python", "ok": sys.version_info >= (3, 8),
                                     "detail": sys.version.split()[0]}]
    try:
        from . import backends
        backend = backends.create(backend_name)
        checks.extend(backend.checks())
        # The doctor never downloads: a backend whose files are missing is not loaded (its load
        # would fetch them, or fail on them), and the lines above name each file and its fix.
        missing = missing_model_files(backend)
        if missing:
            checks.append({"name": f"load {backend_name}", "ok": False,
                           "detail": f"not tried: {len(missing)} model file(s) missing, first {missing[0]} (posepipe doctor never downloads)",
                           "fix": f"posepipe models pull --tracker {backend_name} (files you supply yourself: see the lines above), then posepipe doctor again"})
        else:
            started = time.monotonic()
            backend.load()
            checks.append({"name": f"load {backend_name}", "ok": True,
                           "detail": f"{backend.version} on {device_label(backend.device)} in {time.monotonic() - started:.2f} s"})
    except BaseException as e:  # a check must report, never crash
        checks.append({"name": f"load {backend_name}", "ok": False, "detail": _describe(e)})
    ok = all(c["ok"] for c in checks)
    with os.fdopen(protocol_fd, "w", encoding="utf-8") as out:
        out.write(json.dumps({"ok": ok, "checks": checks}, ensure_ascii=True) + "\n")
    return 0 if ok else 1


def missing_model_files(backend: Any) -> List[str]:
    """Paths of the backend's model files (`--models`: downloads and files supplied by hand) not in
    place; for an archive, the files it unpacks. Empty when it lists none or cannot say (a bad
    setting or a missing import: its own check line reports that, and load fails without fetching)."""
    if not hasattr(backend, "model_files"):
        return []
    try:
        listed = backend.model_files()
    except Exception:  # noqa: B902  reported by the backend's own checks
        return []
    paths: List[str] = []
    for entry in list(listed.get("files", [])) + list(listed.get("manual", [])):
        paths += entry["unpack"]["provides"] if "unpack" in entry else [entry["dest"]]
    return [p for p in paths if not os.path.isfile(p)]


def models(protocol_fd: int, backend_name: str) -> int:
    """`--models`: every file the backend needs on disk, with where it is published, as one JSON line
    (`posepipe models pull` fetches them; src/models/manifest.ts reads it). 2 when it cannot say."""
    try:
        from . import backends
        backend = backends.create(backend_name)
        files = backend.model_files() if hasattr(backend, "model_files") else {"files": [], "manual": []}
    except EnvironmentProblem as e:
        print(f"posepipe_worker.py --models: {e}", file=sys.stderr)
        return 2
    with os.fdopen(protocol_fd, "w", encoding="utf-8") as out:
        out.write(json.dumps({"backend": backend_name, **files}, ensure_ascii=True) + "\n")
    return 0


def device_label(device: str) -> str:
    """The device as the user named it: a worker pinned to cuda:1 runs on its cuda:0."""
    label = pinning.pinned()
    return label + device[len("cuda:0"):] if label and device.startswith("cuda:0") else device


def serve(protocol_fd: int, backend_name: str) -> int:
    """Load the backend, say ready, serve requests until stdin closes or a shutdown request."""
    writer = EventWriter(protocol_fd)
    started = time.monotonic()
    try:
        from . import backends
        backend = backends.create(backend_name)
        backend.load()
        # The frame reader (cv2) loads with the backend, not with the first chunk: a slot's first
        # chunk starts as fast as its others, and a missing cv2 is found at load.
        from . import video  # noqa: F401
    except BaseException as e:  # noqa: B902  nothing may escape before the error event is written
        traceback.print_exc()
        kind = "environment" if isinstance(e, (ImportError, EnvironmentProblem)) else kind_of(e, in_backend=True)
        what = f"the {backend_name} backend raised {_describe(e)}" if kind == "tracker" else _describe(e)
        writer.error(kind, f"{what} (run posepipe doctor)")
        return 3
    # The pipeline writes UTF-8 whatever this machine's locale says.
    sys.stdin.reconfigure(encoding="utf-8", errors="replace")
    info = backend.ready_info() if hasattr(backend, "ready_info") else None
    writer.ready(backend.name, backend.version, device_label(backend.device), time.monotonic() - started, info)
    while True:
        raw = sys.stdin.readline()
        if raw == "":
            return 0  # stdin closed: the pipeline is gone or done with us
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        try:
            request = parse_request(line)
        except RequestError as e:
            writer.error("internal", str(e), request_id_of(line))
            continue
        if request["type"] == "shutdown":
            return 0
        try:
            _track(writer, backend, request)
        finally:
            # A backend holding device memory gives it back between requests (and so between jobs).
            if hasattr(backend, "release"):
                backend.release()


def _describe(e: BaseException) -> str:
    if isinstance(e, ImportError) and e.name:
        return f"cannot import {e.name}: {e}"
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


class Frames:
    """What a backend's track() iterates: the request's frames, plus heartbeat() for long work.

    Progress is sent as the backend pulls frames. A backend that works a long time without
    pulling one (post-processing after the last frame, a slow first batch) calls heartbeat(),
    which sends progress without advancing it; both are rate-limited to one event per
    PROGRESS_SECONDS. There is no timer thread on purpose: a worker whose Python code is stuck
    sends nothing, so the heartbeat deadline still catches it.
    """

    def __init__(self, source: Any, tick: Callable[[int], None], first_frame: int = 0) -> None:
        self._source = source
        # The absolute index of the first frame handed out (overlap included): real trackers need
        # nothing but the pictures; the test fixture uses it to make values a function of the frame.
        self.first_frame = first_frame
        self._frames = iter(source)
        self._tick = tick

    def __iter__(self) -> "Frames":
        return self

    def __next__(self) -> Any:
        try:
            frame = next(self._frames)
        except StopIteration:
            raise
        except Exception as e:
            # Raised by posepipe's frame reader, though it surfaces inside the backend's track():
            # classified as ours (input, internal), never blamed on the backend.
            e.posepipe_own = True  # type: ignore[attr-defined]
            raise
        self._tick(self._source.tracked - 1)  # the backend has finished the frames before this one
        return frame

    def heartbeat(self) -> None:
        """Say "still working" without claiming more frames done."""
        self._tick(max(0, self._source.tracked - 1))


def _track(writer: EventWriter, backend: Any, request: Dict[str, Any]) -> None:
    request_id, frames_wanted, output = request["id"], request["frameCount"], request["output"]
    started = time.monotonic()
    last = [started]

    def tick(frame: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_SECONDS:
            last[0] = now
            writer.progress(request_id, frame, frames_wanted)

    # Our pid in the temp name: a worker orphaned mid-chunk can never write over its successor's file.
    temp = f"{output}.tmp-{os.getpid()}"
    in_backend = False
    try:
        from .video import ChunkFrames  # ImportError here is an "environment" error event, not a crash
        source = ChunkFrames(request["inputs"], frames_wanted, tick)
        writer.progress(request_id, 0, frames_wanted)
        in_backend = True
        frame, track, bbox, score, extras = backend.track(Frames(source, tick, int(request["firstFrame"])))
        in_backend = False
        source.finish()
        in_backend = True  # what it returned is checked here: output that does not fit is its error too
        chunk = _chunk(backend, request, source, frame, track, bbox, score, extras)
        in_backend = False
        with open(temp, "wb") as f:
            pickle.dump(chunk, f, protocol=5)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, output)
        writer.progress(request_id, frames_wanted, frames_wanted)
        writer.done(request_id, output, frames_wanted, int(len(chunk["frame"])), time.monotonic() - started)
    except Exception as e:
        traceback.print_exc()
        try:
            os.unlink(temp)
        except OSError:
            pass
        kind = kind_of(e, in_backend)
        if kind == "input":
            message = str(e)
        elif kind == "tracker":
            message = f"the {backend.name} backend {e}" if isinstance(e, BackendError) else f"the {backend.name} backend raised {_describe(e)}"
        else:
            message = _describe(e)
        print(failure_mark(request_id, kind), file=sys.stderr, flush=True)
        writer.error(kind, message, request_id)


def _chunk(backend: Any, request: Dict[str, Any], source: Any, frame: Any, track: Any, bbox: Any,
           score: Any, extras: Dict[str, Any]) -> Dict[str, Any]:
    """The chunk pickle's exact structure, rows sorted by (frame, track), validated."""
    import numpy as np
    frame = np.asarray(frame, dtype=np.int32).reshape(-1)
    m = len(frame)
    track = np.asarray(track, dtype=np.int32).reshape(-1)
    bbox = np.asarray(bbox, dtype=np.float32).reshape(-1, 4)
    score = np.asarray(score, dtype=np.float32).reshape(-1)
    if len(track) != m or len(bbox) != m or len(score) != m:
        raise BackendError(f"returned columns of different lengths ({m}, {len(track)}, {len(bbox)}, {len(score)})")
    if m and (frame.min() < 0 or frame.max() >= request["frameCount"] or track.min() < 1):
        raise BackendError("returned a frame index outside the chunk or a track id below 1")
    order = np.lexsort((track, frame))
    columns = {name: np.ascontiguousarray(np.asarray(value)[order]) for name, value in sorted(extras.items())}
    for name, value in columns.items():
        if value.shape[:1] != (m,):
            raise BackendError(f"extra {name!r} has shape {value.shape}, expected first dimension {m}")
    return {
        "schema": CHUNK_SCHEMA,
        "backend": backend.name,
        "backend_version": backend.version,
        "device": backend.device,
        "first_frame": int(request["firstFrame"]),
        "frame_count": int(request["frameCount"]),
        "width": int(source.width or 0),
        "height": int(source.height or 0),
        "frame": np.ascontiguousarray(frame[order]),
        "track": np.ascontiguousarray(track[order]),
        "bbox": np.ascontiguousarray(bbox[order]),
        "score": np.ascontiguousarray(score[order]),
        "extras": columns,
    }
