"""The phalp backend's settings, read from the environment once at load() and then frozen."""

import os
from dataclasses import dataclass
from typing import Mapping, Optional

from ..errors import EnvironmentProblem
from . import torch_device

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DEFAULT_BATCH = 16
# torch.load reads TORCH_FORCE_(NO_)WEIGHTS_ONLY_LOAD at every call and counts exactly these as set.
TORCH_ENV_TRUE = ("1", "y", "yes", "true")


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
    """POSEPIPE_PHALP_DEVICE as a torch device (see torch_device.resolve_device)."""
    cuda = getattr(torch, "cuda")
    count = cuda.device_count() if cuda.is_available() else 0
    return torch_device.resolve_device("POSEPIPE_PHALP_DEVICE", wanted, count, str(getattr(torch, "__version__", "?")))


def resolve_precision(torch: object, device: str, wanted: str) -> str:
    """POSEPIPE_PHALP_PRECISION for this device (see torch_device.resolve_precision)."""
    on_cuda = device.startswith("cuda")
    return torch_device.resolve_precision("POSEPIPE_PHALP_PRECISION", wanted, device, on_cuda and getattr(torch, "cuda").is_bf16_supported())
