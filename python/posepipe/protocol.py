"""The worker protocol, mirrored from src/tracker/protocol.ts: JSON lines in, JSON lines out.

Requests (stdin, one JSON object per line):
  {"type":"track","id":str,"inputs":[{"path":abs str,"start":int>=0,"count"?:int>=0},...],
   "firstFrame":int>=0,"frameCount":int>=0,"output":abs str}
  {"type":"shutdown"}
  Each input's first `start` frames are decoded but not tracked; then its next `count` frames are
  taken (absent: all the rest of the file).

Events (the protocol fd, one JSON object per line, flushed):
  {"type":"ready","backend":str,"version":str,"device":str,"pid":int,"loadSeconds":float}
  {"type":"progress","id":str,"frame":int,"frames":int}
  {"type":"done","id":str,"output":str,"frames":int,"detections":int,"seconds":float}
  {"type":"error","id"?:str,"kind":"oom"|"input"|"tracker"|"internal"|"environment"|"disk","message":str}

stderr is free-form, with one fixed line: a failed request's traceback is followed on stderr by
  [posepipe] request <id as JSON> failed: <kind>
written before its error event, so the pipeline, which reads the two pipes separately, can wait
for it and keep the whole traceback in the chunk's log and on its row.
"""

import json
import os
import threading
from typing import Any, Dict, List, Optional

from .errors import RequestError

ERROR_KINDS = ("oom", "input", "tracker", "internal", "environment", "disk")


# What a backend may add to `ready` (its ready_info()); mirrored in src/tracker/protocol.ts.
READY_INFO = ("precision", "batch", "memoryTotalMb", "memoryFreeMb")


class EventWriter:
    """Writes events to the protocol fd; a lock keeps lines whole if a backend uses threads."""

    def __init__(self, fd: int) -> None:
        self._file = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        self._lock = threading.Lock()

    def emit(self, event: Dict[str, Any]) -> None:
        # ensure_ascii keeps every line pure ASCII, whatever bytes a path or message holds.
        line = json.dumps(event, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def ready(self, backend: str, version: str, device: str, load_seconds: float,
              info: Optional[Dict[str, Any]] = None) -> None:
        """`info`: a backend's optional facts (READY_INFO keys only: precision, batch, memory in MB)."""
        event: Dict[str, Any] = {"type": "ready", "backend": backend, "version": version, "device": device,
                                 "pid": os.getpid(), "loadSeconds": round(load_seconds, 3)}
        for key, value in (info or {}).items():
            if key not in READY_INFO:
                raise ValueError(f"ready: unknown backend info {key!r}; known: {', '.join(READY_INFO)}")
            event[key] = value
        self.emit(event)

    def progress(self, request_id: str, frame: int, frames: int) -> None:
        self.emit({"type": "progress", "id": request_id, "frame": frame, "frames": frames})

    def done(self, request_id: str, output: str, frames: int, detections: int, seconds: float) -> None:
        self.emit({"type": "done", "id": request_id, "output": output, "frames": frames,
                   "detections": detections, "seconds": round(seconds, 3)})

    def error(self, kind: str, message: str, request_id: Optional[str] = None) -> None:
        event: Dict[str, Any] = {"type": "error"}
        if request_id is not None:
            event["id"] = request_id
        event.update({"kind": kind if kind in ERROR_KINDS else "internal", "message": message})
        self.emit(event)


def failure_mark(request_id: str, kind: str) -> str:
    """The stderr line that ends a failed request's traceback (src/tracker/worker.ts waits for it)."""
    return f"[posepipe] request {json.dumps(request_id, ensure_ascii=True)} failed: {kind}"


def quote(line: str, limit: int = 200) -> str:
    """The offending line as JSON text, cut short so one bad line cannot flood the log."""
    shown = line if len(line) <= limit else line[:limit] + "..."
    return json.dumps(shown, ensure_ascii=True)


def _int(obj: Dict[str, Any], key: str, line: str) -> int:
    value = obj.get(key)
    # bool is an int subclass in Python; true/false are not frame numbers.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RequestError(f"field {key!r} must be a non-negative integer in request {quote(line)}")
    return value


def _abs_path(value: Any, key: str, line: str) -> str:
    if not isinstance(value, str) or not os.path.isabs(value) or "\x00" in value:
        raise RequestError(f"field {key!r} must be an absolute path in request {quote(line)}")
    return value


def request_id_of(line: str) -> Optional[str]:
    """The request's id if the line is a JSON object with a string id, for error events."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    value = obj.get("id") if isinstance(obj, dict) else None
    return value if isinstance(value, str) else None


def parse_request(line: str) -> Dict[str, Any]:
    """Parse and validate one request line; RequestError quotes the line on any problem."""
    try:
        obj = json.loads(line)
    except ValueError:
        raise RequestError(f"unparseable request line {quote(line)}") from None
    if not isinstance(obj, dict):
        raise RequestError(f"request is not a JSON object: {quote(line)}")
    kind = obj.get("type")
    if kind == "shutdown":
        return {"type": "shutdown"}
    if kind != "track":
        raise RequestError(f"unknown request type in {quote(line)}")
    request_id = obj.get("id")
    if not isinstance(request_id, str) or not request_id:
        raise RequestError(f"field 'id' must be a non-empty string in request {quote(line)}")
    raw_inputs = obj.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise RequestError(f"field 'inputs' must be a non-empty list in request {quote(line)}")
    inputs: List[Dict[str, Any]] = []
    for item in raw_inputs:
        if not isinstance(item, dict):
            raise RequestError(f"each input must be an object in request {quote(line)}")
        parsed = {"path": _abs_path(item.get("path"), "inputs[].path", line),
                  "start": _int(item, "start", line)}
        if "count" in item:
            parsed["count"] = _int(item, "count", line)
        unknown = sorted(set(item) - {"path", "start", "count"})
        if unknown:
            raise RequestError(f"unknown input field {unknown[0]!r} in request {quote(line)}")
        inputs.append(parsed)
    return {"type": "track", "id": request_id, "inputs": inputs,
            "firstFrame": _int(obj, "firstFrame", line), "frameCount": _int(obj, "frameCount", line),
            "output": _abs_path(obj.get("output"), "output", line)}
