"""The keypoints backend's settings: POSEPIPE_KEYPOINTS_* read once, validated, then frozen.

Parsing (read_settings) needs no torch, so tests can check every message; resolving "auto" device
and precision (resolve_device, resolve_precision) takes the machine's facts as arguments.
See keypoints.py for what each variable means.
"""

import re
from dataclasses import dataclass
from typing import Mapping, Optional, Tuple

from ..errors import EnvironmentProblem
from . import torch_device

PREFIX = "POSEPIPE_KEYPOINTS_"
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
RANDOM = "random"


@dataclass(frozen=True)
class Settings:
    """Everything the backend reads from the environment, as given (device/precision unresolved)."""

    weights: Optional[str]  # None: torchvision's cache; "random": random init; else a file path
    device: str  # "auto", "cpu", "cuda" or "cuda:N"
    batch: Optional[int]  # None: 8 on CUDA, 1 on the CPU
    precision: str  # one of PRECISIONS
    min_score: float
    max_persons: int
    size: int
    proposals: int
    memory_fraction: Optional[float]
    iou: float
    max_age: int
    min_hits: int


def _raw(env: Mapping[str, str], key: str) -> Optional[str]:
    value = env.get(PREFIX + key)
    return None if value is None or value.strip() == "" else value.strip()


def _number(env: Mapping[str, str], key: str, default: float, low: float, high: Optional[float] = None,
            integer: bool = False, low_open: bool = False) -> float:
    raw = _raw(env, key)
    if raw is None:
        return default
    name = PREFIX + key
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise EnvironmentProblem(f"{name}={raw!r} is not a {'whole ' if integer else ''}number") from None
    if value != value or (low_open and value <= low) or (not low_open and value < low) or (high is not None and value > high):
        bound = f"above {low}" if low_open else f"at least {low}"
        raise EnvironmentProblem(f"{name}={raw!r} must be {bound}" + (f" and at most {high}" if high is not None else ""))
    return value


def read_settings(env: Mapping[str, str]) -> Settings:
    """Parse POSEPIPE_KEYPOINTS_*; a bad value raises EnvironmentProblem naming the variable."""
    device = (_raw(env, "DEVICE") or "auto").lower()
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
        raise EnvironmentProblem(f"{PREFIX}DEVICE={env.get(PREFIX + 'DEVICE')!r} must be auto, cpu, cuda or cuda:N")
    precision = (_raw(env, "PRECISION") or "auto").lower()
    if precision not in PRECISIONS:
        raise EnvironmentProblem(f"{PREFIX}PRECISION={env.get(PREFIX + 'PRECISION')!r} must be one of {', '.join(PRECISIONS)}")
    weights = _raw(env, "WEIGHTS")
    batch = None if _raw(env, "BATCH") is None else int(_number(env, "BATCH", 1, 1, 4096, integer=True))
    fraction = None if _raw(env, "MEMORY_FRACTION") is None else _number(env, "MEMORY_FRACTION", 1.0, 0.0, 1.0, low_open=True)
    return Settings(
        weights=RANDOM if weights is not None and weights.lower() == RANDOM else weights,
        device=device,
        batch=batch,
        precision=precision,
        min_score=_number(env, "MIN_SCORE", 0.5, 0.0, 1.0),
        max_persons=int(_number(env, "MAX_PERSONS", 100, 1, 1000, integer=True)),
        size=int(_number(env, "SIZE", 800, 32, 4096, integer=True)),
        proposals=int(_number(env, "PROPOSALS", 1000, 1, 100000, integer=True)),
        memory_fraction=fraction,
        iou=_number(env, "IOU", 0.2, 0.0, 1.0),
        max_age=int(_number(env, "MAX_AGE", 12, 0, integer=True)),
        min_hits=int(_number(env, "MIN_HITS", 3, 1, integer=True)),
    )


def resolve_device(wanted: str, cuda_count: int, torch_version: str) -> str:
    """POSEPIPE_KEYPOINTS_DEVICE as a torch device (see torch_device.resolve_device)."""
    return torch_device.resolve_device(f"{PREFIX}DEVICE", wanted, cuda_count, torch_version)


def resolve_precision(wanted: str, device: str, bf16_supported: bool) -> str:
    """POSEPIPE_KEYPOINTS_PRECISION for this device (see torch_device.resolve_precision)."""
    return torch_device.resolve_precision(f"{PREFIX}PRECISION", wanted, device, bf16_supported)


def starting_batch(batch: Optional[int], device: str) -> int:
    """The first batch cap: the setting, else 8 frames per pass on CUDA and 1 on the CPU."""
    if batch is not None:
        return batch
    return 8 if device.startswith("cuda") else 1


def max_size(size: int) -> int:
    """The long-side limit torchvision pairs with a short side: 1333 for 800, scaled alike."""
    return max(size, round(size * 1333 / 800))


def size_pair(size: int) -> Tuple[int, int]:
    """(min_size, max_size) for the model's own resize."""
    return size, max_size(size)
