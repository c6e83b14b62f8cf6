"""`posepipe doctor --tracker phalp`: one entry per requirement, each with the fix when it fails.

Every entry says what load() will really do: the same OpenGL choice (phalp_gl.py), the same device
rules (pinning, CPU refused), and one entry per file of the same list `posepipe models pull` fetches
(phalp_files.py). Nothing here may raise: every probe is wrapped, and a probe that cannot run is a
failed entry.
"""

import importlib
import os
import sys
from typing import Any, Callable, Dict, List

from .. import pinning
from ..errors import EnvironmentProblem
from . import phalp_files, phalp_gl
from .phalp_config import TORCH_ENV_TRUE, PhalpSettings, read_settings, resolve_device

Check = Dict[str, Any]

# The install that needs no neural_renderer build (docs/backends.md, "The phalp backend"; python/requirements-phalp.txt).
INSTALL = ("pip install -r python/requirements-phalp.txt, then pip install --no-deps -r "
           "python/requirements-phalp-nodeps.txt (posepipe's folder)")
IMPORT_FIXES = {
    "torch": "install a CUDA build of torch into this venv (https://pytorch.org), then " + INSTALL,
    "hmr2": "in this venv: " + INSTALL,
    "phalp": "in this venv: " + INSTALL,
    "detectron2": "in this venv: pip install --no-build-isolation 'git+https://github.com/facebookresearch/detectron2.git'",
}
GPU_GB_FULL, GPU_GB_LOW = 9.5, 5.2  # measured: ViTDet + HMR2, and with the RegNetY detector
PULL = "posepipe models pull --tracker phalp"


def _entry(name: str, ok: bool, detail: str, fix: str) -> Check:
    out: Check = {"name": name, "ok": ok, "detail": detail}
    if not ok:
        out["fix"] = fix
    return out


def _guard(name: str, fix: str, probe: Callable[[], Check]) -> Check:
    try:
        return probe()
    except BaseException as e:  # a check reports; it never raises
        return _entry(name, False, f"{type(e).__name__}: {e}", fix)


def _venv() -> Check:
    in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix) or bool(os.environ.get("CONDA_PREFIX"))
    detail = f"{sys.executable} (Python {sys.version.split()[0]}{', in a venv' if in_venv else ', not in a venv'})"
    return _entry("venv", in_venv, detail, "set POSEPIPE_PYTHON to the python of the venv (or conda env) "
                  "where 4D-Humans is installed, e.g. ~/4D-Humans/.venv/bin/python")


def _import(module: str) -> Check:
    mod = importlib.import_module(module)
    return _entry(f"import {module}", True, str(getattr(mod, "__version__", "imported")), "")


def _torch_version() -> Check:
    import torch
    version = torch.__version__.split("+")[0]
    major, minor = (int(p) for p in version.split(".")[:2])
    if (major, minor) < (2, 6):
        return _entry("torch weights_only", True, f"torch {version} (< 2.6: torch.load keeps weights_only=False)", "")
    forced = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "") in TORCH_ENV_TRUE
    return _entry("torch weights_only", not forced,
                  f"torch {version} (>= 2.6: posepipe sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 for the "
                  "PHALP/HMR2 checkpoints)" + (" but TORCH_FORCE_WEIGHTS_ONLY_LOAD is set" if forced else ""),
                  "unset TORCH_FORCE_WEIGHTS_ONLY_LOAD for posepipe, or install torch<2.6 in this venv")


def _device(settings: PhalpSettings) -> Check:
    """The configured GPU as load() resolves it (pinned: the worker sees it alone), and its free memory."""
    import torch
    from .phalp import refuse_cpu
    fix = ("install a CUDA build of torch and the NVIDIA driver (nvidia-smi must list the GPU), and set "
           "POSEPIPE_PHALP_DEVICE to auto, cuda or cuda:N")
    try:
        device = resolve_device(torch, settings.device)
        refuse_cpu(device, settings.device)
    except EnvironmentProblem as e:
        return _entry("cuda", False, str(e), fix)
    if device == "cpu":  # the stand-ins alone get here
        return _entry("cuda", True, "cpu (posepipe's stand-ins)", "")
    index = torch.device(device)
    free, total = torch.cuda.mem_get_info(index)
    need = GPU_GB_LOW if settings.low_memory else GPU_GB_FULL
    label = pinning.describe() or device
    detail = f"{label}: {torch.cuda.get_device_name(index)}, {free / 2**30:.1f} GB free of {total / 2**30:.1f} GB"
    if free / 2**30 >= need:
        return _entry("cuda", True, detail, "")
    fix = ("set POSEPIPE_PHALP_LOW_MEMORY=1 (RegNetY detector, ~5.2 GB) and POSEPIPE_PHALP_PRECISION=bf16"
           if not settings.low_memory else "close other programs using the GPU; ~5.2 GB free is needed")
    return _entry("cuda", False, f"{detail}; about {need} GB needed", fix)


def _gl() -> Check:
    """What load() will do about OpenGL: the same choice, from the same libraries."""
    libs = phalp_gl.libraries()
    platform, why = phalp_gl.choose(os.environ.get("PYOPENGL_PLATFORM", ""), libs)
    found = phalp_gl.describe(libs)
    if platform is None:
        return _entry("opengl", False, f"{found}: {why}", why)
    return _entry("opengl", True, f"PyOpenGL platform {why}; posepipe builds no renderer, but PHALP and HMR2 import "
                  f"pyrender, which loads it ({found})", "")


def _files(detector: str) -> List[Check]:
    """One entry per file of `posepipe models pull --list`, then the SMPL models the user supplies."""
    manifest = phalp_files.manifest(detector)
    out = []
    for entry in manifest["files"]:
        missing = phalp_files.missing_paths(entry)
        ok = not missing
        detail = entry["dest"] if ok else f"{' and '.join(missing)} missing"
        out.append(_entry(f"file {entry['name']}", ok, detail,
                          f"{PULL} (or download {entry['url']} to {entry['dest']}"
                          + (f" and unpack it in {entry['unpack']['into']})" if "unpack" in entry else ")")))
    for label, m in zip(("smpl 4DHumans", "smpl phalp"), manifest["manual"]):
        ok = os.path.isfile(m["dest"])
        out.append(_entry(label, ok, m["dest"] if ok else f"{m['dest']} is missing", f"{m['how']}: {m['dest']}"))
    return out


def run_checks() -> List[Check]:
    """Every doctor entry for the phalp backend, in a fixed order."""
    out: List[Check] = [_guard("venv", "check POSEPIPE_PYTHON", _venv)]
    settings = PhalpSettings()
    try:
        settings = read_settings()
        out.append(_entry("settings", True, f"batch {settings.batch}, precision {settings.precision}, "
                          f"device {settings.device}, detector {settings.detector}", ""))
    except BaseException as e:
        out.append(_entry("settings", False, str(e), "fix or unset the POSEPIPE_PHALP_* variable named"))
    for module in ("torch", "hmr2", "phalp", "detectron2"):
        out.append(_guard(f"import {module}", IMPORT_FIXES[module], lambda m=module: _import(m)))
    out.append(_guard("torch weights_only", IMPORT_FIXES["torch"], _torch_version))
    out.append(_guard("cuda", "install a CUDA build of torch and the NVIDIA driver", lambda: _device(settings)))
    out.append(_guard("opengl", "sudo apt-get install libegl1 libopengl0", _gl))
    try:
        out.extend(_files(settings.detector))
    except BaseException as e:  # a check reports; it never raises
        out.append(_entry("files", False, f"{type(e).__name__}: {e}", PULL))
    return out
