"""Fault switches shared by the stand-ins (see README.md)."""
import os
from typing import Optional


def env_int(name: str) -> Optional[int]:
    raw = os.environ.get(name, "")
    return int(raw) if raw else None
