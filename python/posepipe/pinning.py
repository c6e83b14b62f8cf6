"""Pin the worker to the GPU its backend is configured for, before anything can start CUDA.

`POSEPIPE_<BACKEND>_DEVICE=cuda:N` (or `cuda`, which is `cuda:0`) makes this process see that one
GPU alone: CUDA_VISIBLE_DEVICES becomes the Nth entry of the list the process inherited (or N when
there is none). Inside, the GPU is then `cuda:0`, so every bare `.cuda()` (PHALP has many), every
`torch.load` without `map_location` (PHALP's and HMR2's checkpoints) and the current device land on
it; `torch.cuda.set_device` alone redirects only the first of those. CUDA_DEVICE_ORDER is set to
PCI_BUS_ID unless the user chose one, so N counts GPUs as nvidia-smi does. EGL_DEVICE_ID (read by
pyrender for an EGL context; posepipe builds none) follows N.

This runs in posepipe_worker.py before the backend is imported: CUDA reads the variable once, at
its first use in the process. POSEPIPE_PINNED_DEVICE keeps the device as the user named it, which
the worker reports; backends resolve a pinned `cuda:N` to `cuda:0`.
"""

import os
import re
from typing import MutableMapping, Optional

PINNED = "POSEPIPE_PINNED_DEVICE"
CUDA_DEVICE = re.compile(r"cuda(?::(\d+))?")


def device_variable(backend: str) -> str:
    """The backend's own device setting: POSEPIPE_PHALP_DEVICE, POSEPIPE_KEYPOINTS_DEVICE, ..."""
    return "POSEPIPE_" + re.sub(r"[^A-Z0-9]", "_", backend.upper()) + "_DEVICE"


def pin(backend: str, env: Optional[MutableMapping[str, str]] = None) -> Optional[str]:
    """Restrict `env` (default: this process's) to the backend's configured GPU; the label, or None.

    Nothing changes for auto, cpu, or a value the backend will refuse with its own message.
    """
    env = os.environ if env is None else env
    wanted = env.get(device_variable(backend), "")
    match = CUDA_DEVICE.fullmatch(wanted)
    if match is None:
        return None
    index = int(match.group(1) or 0)
    inherited = [d.strip() for d in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    if "CUDA_VISIBLE_DEVICES" in env and not inherited:
        return None  # the user hid every GPU; the backend says that torch sees none
    if inherited and index >= len(inherited):
        return None  # out of range: the backend names the devices that exist
    physical = inherited[index] if inherited else str(index)
    env["CUDA_VISIBLE_DEVICES"] = physical
    env.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    if physical.isdigit():
        env["EGL_DEVICE_ID"] = physical
    label = f"cuda:{index}"
    env[PINNED] = label
    return label


def pinned(env: Optional[MutableMapping[str, str]] = None) -> Optional[str]:
    """The device this worker was pinned to, as the user named it (`cuda:1`), or None."""
    env = os.environ if env is None else env
    return env.get(PINNED) or None


def describe(env: Optional[MutableMapping[str, str]] = None) -> str:
    """`cuda:1 (CUDA_VISIBLE_DEVICES=1)` for reports; empty when not pinned."""
    env = os.environ if env is None else env
    label = pinned(env)
    return f"{label} (CUDA_VISIBLE_DEVICES={env.get('CUDA_VISIBLE_DEVICES', '')})" if label else ""
