"""The phalp backend's settings, read from the environment once at load() and then frozen."""

import os
from dataclasses import dataclass
from typing import Mapping, Optional

from ..errors import EnvironmentProblem

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DEFAULT_BATCH = 16


@dataclass(frozen=True)
class PhalpSettings:
    """What the user chose; `device`/`precision` may be "auto" until resolved against torch."""

    batch: int = DEFAULT_BATCH
    precision: str = "auto"
    low_memory: bool = False
    device: str = "auto"
    frames_window: int = 32

    @property
    def detector(self) -> str:
        """PHALP's `cfg.phalp.detector`: ViTDet-H, or the lighter RegNetY Mask R-CNN."""
        return "maskrcnn" if self.low_memory else "vitdet"


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise EnvironmentProblem(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise EnvironmentProblem(f"{name}={raw!r} must be at least {minimum}")
    return value


def read_settings(env: Optional[Mapping[str, str]] = None) -> PhalpSettings:
    """Parse POSEPIPE_PHALP_*; a bad value raises EnvironmentProblem naming the variable."""
    env = os.environ if env is None else env
    precision = env.get("POSEPIPE_PHALP_PRECISION", "") or "auto"
    if precision not in PRECISIONS:
        raise EnvironmentProblem(f"POSEPIPE_PHALP_PRECISION={precision!r} must be one of {', '.join(PRECISIONS)}")
    low = env.get("POSEPIPE_PHALP_LOW_MEMORY", "") or "0"
    if low not in ("0", "1"):
        raise EnvironmentProblem(f"POSEPIPE_PHALP_LOW_MEMORY={low!r} must be 0 or 1")
    device = env.get("POSEPIPE_PHALP_DEVICE", "") or "auto"
    if device != "auto" and device != "cpu" and device != "cuda" and not device.startswith("cuda:"):
        raise EnvironmentProblem(f"POSEPIPE_PHALP_DEVICE={device!r} must be auto, cpu, cuda or cuda:N")
    if device.startswith("cuda:") and not device[5:].isdigit():
        raise EnvironmentProblem(f"POSEPIPE_PHALP_DEVICE={device!r}: the device number must be a whole number")
    return PhalpSettings(
        batch=_int(env, "POSEPIPE_PHALP_BATCH", DEFAULT_BATCH, 1),
        precision=precision,
        low_memory=low == "1",
        device=device,
        frames_window=_int(env, "POSEPIPE_PHALP_FRAMES_WINDOW", 32, 1),
    )


def resolve_device(torch: object, wanted: str) -> str:
    """"auto" -> "cuda" when torch sees a GPU, else "cpu"; an unavailable GPU asked for by name fails."""
    cuda = getattr(torch, "cuda")
    if wanted == "auto":
        return "cuda" if cuda.is_available() else "cpu"
    if wanted.startswith("cuda") and not cuda.is_available():
        raise EnvironmentProblem(f"POSEPIPE_PHALP_DEVICE={wanted!r} but torch sees no CUDA device")
    return wanted


def resolve_precision(torch: object, device: str, wanted: str) -> str:
    """"auto" -> bf16 on a GPU that supports it, else fp32. fp16 needs a GPU (CPU autocast is bf16 only)."""
    on_gpu = device.startswith("cuda")
    if wanted == "auto":
        return "bf16" if on_gpu and getattr(torch, "cuda").is_bf16_supported() else "fp32"
    if wanted == "fp16" and not on_gpu:
        raise EnvironmentProblem("POSEPIPE_PHALP_PRECISION='fp16' needs a CUDA device; use bf16 or fp32 on the CPU")
    return wanted
