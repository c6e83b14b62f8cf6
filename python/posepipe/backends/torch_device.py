"""Device and precision choice shared by the torch backends (keypoints, phalp): the same rules and
messages for POSEPIPE_<BACKEND>_DEVICE and _PRECISION. Takes the machine's facts as arguments, so it
is tested without a GPU."""

import os

from ..errors import EnvironmentProblem
from .. import pinning


def resolve_device(variable: str, wanted: str, cuda_count: int, torch_version: str) -> str:
    """"auto" -> "cuda:0" when CUDA sees a device, else "cpu"; "cuda" -> "cuda:0"; checks N.

    In a worker pinned to the wanted GPU (pinning.py) that GPU is the only one torch sees: cuda:0.
    """
    if wanted == "auto":
        return "cuda:0" if cuda_count > 0 else "cpu"
    if wanted == "cpu":
        return "cpu"
    index = int(wanted.split(":")[1]) if ":" in wanted else 0
    label = pinning.pinned()
    if label is not None and label == f"cuda:{index}":
        if cuda_count == 0:
            raise EnvironmentProblem(f"{variable}={wanted!r}: with CUDA_VISIBLE_DEVICES="
                                     f"{os.environ.get('CUDA_VISIBLE_DEVICES', '')} torch {torch_version} sees no CUDA "
                                     "device (no such GPU in nvidia-smi, a CPU-only torch build, or no driver)")
        return "cuda:0"
    if cuda_count == 0:
        raise EnvironmentProblem(f"{variable}={wanted!r} but torch {torch_version} sees no CUDA device "
                                 f"(a CPU-only torch build, or no driver); use {variable}=cpu or auto")
    if index >= cuda_count:
        raise EnvironmentProblem(f"{variable}={wanted!r} but only {cuda_count} CUDA device(s) exist (cuda:0..cuda:{cuda_count - 1})")
    return f"cuda:{index}"


def resolve_precision(variable: str, wanted: str, device: str, bf16_supported: bool) -> str:
    """"auto" -> bf16 on a CUDA device that supports it, else fp32; refuses what cannot run."""
    on_cuda = device.startswith("cuda")
    if wanted == "auto":
        return "bf16" if on_cuda and bf16_supported else "fp32"
    if wanted == "fp16" and not on_cuda:
        raise EnvironmentProblem(f"{variable}=fp16 needs a CUDA device (device is {device}); use fp32 or bf16")
    if wanted == "bf16" and on_cuda and not bf16_supported:
        raise EnvironmentProblem(f"{variable}=bf16 but {device} does not support bfloat16; use fp16 or fp32")
    return wanted


def torch_hub_dir() -> str:
    """torch.hub.get_dir(): $TORCH_HOME/hub, TORCH_HOME defaulting to $XDG_CACHE_HOME/torch (~/.cache)."""
    try:
        import torch
        return torch.hub.get_dir()
    except ImportError:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return os.path.join(os.path.expanduser(os.environ.get("TORCH_HOME") or os.path.join(cache, "torch")), "hub")
