"""`posepipe doctor --tracker phalp`: one entry per requirement, each with the fix when it fails.

Nothing here may raise: every probe is wrapped, and a probe that cannot run is a failed entry.
"""

import ctypes.util
import importlib
import os
import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

from .phalp_config import TORCH_ENV_TRUE, read_settings

Check = Dict[str, Any]

IMPORT_FIXES = {
    "torch": "install 4D-Humans into this venv as its README says (it brings torch with CUDA)",
    "hmr2": "in this venv: pip install -e '/path/to/4D-Humans[all]'",
    "phalp": "in this venv: pip install 'phalp[all]@git+https://github.com/brjathu/PHALP.git'",
    "detectron2": "in this venv: pip install 'git+https://github.com/facebookresearch/detectron2.git'",
}
SMPL_FIX = ("download the SMPL neutral model (basicModel_neutral_lbs_10_207_0_v1.0.0.pkl) from "
            "https://smpl.is.tue.mpg.de (licence: register and accept) and copy it to {path}")
GPU_GB_FULL, GPU_GB_LOW = 9.5, 5.2  # measured: ViTDet + HMR2, and with the RegNetY detector

# What PHALP's setup_detectron2 loads through detectron2's model zoo: its detector (cfg.phalp.detector:
# ViTDet-H, or the RegNetY Mask R-CNN with POSEPIPE_PHALP_LOW_MEMORY=1), then always a Mask R-CNN
# X-101 (masks for given boxes). iopath caches a URL under its cache folder by the URL's path.
DETECTRON2_URL = "https://dl.fbaipublicfiles.com/"
DETECTOR_FILES = {
    "vitdet": "detectron2/ViTDet/COCO/cascade_mask_rcnn_vitdet_h/f328730692/model_final_f05665.pkl",
    "maskrcnn": "detectron2/new_baselines/mask_rcnn_regnety_4gf_dds_FPN_400ep_LSJ/42045954/model_final_ef3a80.pkl",
}
MASK_RCNN_FILE = "detectron2/COCO-InstanceSegmentation/mask_rcnn_X_101_32x8d_FPN_3x/139653917/model_final_2d9806.pkl"


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


def _cuda(low_memory: bool) -> Check:
    import torch
    fix = "install a CUDA build of torch and the NVIDIA driver (nvidia-smi must list the GPU)"
    if not torch.cuda.is_available():
        return _entry("cuda", False, f"torch {torch.__version__} sees no CUDA device", fix)
    free, total = torch.cuda.mem_get_info()
    need = GPU_GB_LOW if low_memory else GPU_GB_FULL
    detail = f"{torch.cuda.get_device_name(0)}: {free / 2**30:.1f} GB free of {total / 2**30:.1f} GB"
    if free / 2**30 >= need:
        return _entry("cuda", True, detail, "")
    fix = ("set POSEPIPE_PHALP_LOW_MEMORY=1 (RegNetY detector, ~5.2 GB) and POSEPIPE_PHALP_PRECISION=bf16"
           if not low_memory else "close other programs using the GPU; ~5.2 GB free is needed")
    return _entry("cuda", False, f"{detail}; about {need} GB needed", fix)


def _gl() -> Check:
    egl, osmesa = ctypes.util.find_library("EGL"), ctypes.util.find_library("OSMesa")
    platform = os.environ.get("PYOPENGL_PLATFORM", "")
    found = [n for n, lib in (("EGL", egl), ("OSMesa", osmesa)) if lib]
    detail = f"found {', '.join(found) or 'neither EGL nor OSMesa'}; PYOPENGL_PLATFORM={platform or '(unset)'}"
    ok = bool(found) and (platform == "" or (platform == "egl" and egl) or (platform == "osmesa" and osmesa))
    return _entry("egl/osmesa", bool(ok), detail, "sudo apt-get install libegl1 libgl1 (or libosmesa6) and "
                  "export PYOPENGL_PLATFORM=egl (osmesa): PHALP imports pyrender and HMR2 opens an offscreen renderer even with rendering off")


def cache_dirs() -> Dict[str, str]:
    """PHALP's and 4D-Humans' cache folders, from the packages when they import."""
    home_cache = os.path.join(os.path.expanduser("~"), ".cache")
    dirs = {"phalp": os.path.join(home_cache, "phalp"), "4dhumans": os.path.join(home_cache, "4DHumans")}
    try:
        from phalp.configs.base import CACHE_DIR
        dirs["phalp"] = os.path.join(CACHE_DIR, "phalp")
    except BaseException:
        pass
    try:
        from hmr2.configs import CACHE_DIR_4DHUMANS
        dirs["4dhumans"] = CACHE_DIR_4DHUMANS
    except BaseException:
        pass
    return dirs


def smpl_paths() -> List[str]:
    """The two places the SMPL neutral model must be (4D-Humans' and PHALP's caches)."""
    dirs = cache_dirs()
    return [os.path.join(dirs["4dhumans"], "data", "smpl", "SMPL_NEUTRAL.pkl"),
            os.path.join(dirs["phalp"], "3D", "models", "smpl", "SMPL_NEUTRAL.pkl")]


def _file(name: str, path: str, fix: str) -> Check:
    ok = os.path.isfile(path)
    return _entry(name, ok, path if ok else f"{path} is missing", fix.format(path=path))


def hmr2_files() -> List[str]:
    """HMR2's checkpoint and the model_config.yaml that load_hmr2 reads two folders above it."""
    try:
        from hmr2.models import DEFAULT_CHECKPOINT
        checkpoint = DEFAULT_CHECKPOINT
    except BaseException:
        checkpoint = os.path.join(cache_dirs()["4dhumans"], "logs", "train", "multiruns", "hmr2", "0",
                                  "checkpoints", "epoch=35-step=1000000.ckpt")
    return [checkpoint, os.path.join(os.path.dirname(os.path.dirname(checkpoint)), "model_config.yaml")]


def iopath_cache() -> str:
    """Where detectron2 keeps what it downloads (iopath's cache: $FVCORE_CACHE or ~/.torch/iopath_cache)."""
    return os.path.expanduser(os.environ.get("FVCORE_CACHE", "~/.torch/iopath_cache"))


def detectron2_files(detector: str) -> List[Tuple[str, str, str]]:
    """(check name, URL, cached path) of the detectron2 weights PHALP loads with this detector."""
    return [(name, DETECTRON2_URL + rel, os.path.join(iopath_cache(), rel))
            for name, rel in (("checkpoint detector", DETECTOR_FILES[detector]), ("checkpoint mask rcnn", MASK_RCNN_FILE))]


def _checkpoints(detector: str) -> List[Check]:
    weights = os.path.join(cache_dirs()["phalp"], "weights")
    missing = [p for p in hmr2_files() if not os.path.isfile(p)]
    hmr2 = _entry("checkpoint hmr2", not missing, " and ".join(missing or hmr2_files()) + (" missing" if missing else ""),
                  "run 4D-Humans' demo.py once with internet access: it downloads and unpacks hmr2_data.tar.gz")
    # PHALP's constructor downloads these itself when they are missing (and the machine is online).
    fetch = ("let PHALP download it: run 4D-Humans' track.py once, or the phalp backend, with internet "
             "access; else copy the file to {path}")
    out = [hmr2, _file("checkpoint hmar", os.path.join(weights, "hmar_v2_weights.pth"), fetch),
           _file("checkpoint pose predictor", os.path.join(weights, "pose_predictor.pth"), fetch)]
    # detectron2 downloads these at the first build too (the ViTDet-H file is about 2.6 GB).
    for name, url, path in detectron2_files(detector):
        out.append(_file(name, path, "let detectron2 download it: run the phalp backend (or 4D-Humans' track.py) "
                                     f"once with internet access; else download {url} to {{path}}"))
    return out


def run_checks() -> List[Check]:
    """Every doctor entry for the phalp backend, in a fixed order."""
    out: List[Check] = [_guard("venv", "check POSEPIPE_PYTHON", _venv)]
    low_memory, detector = False, "vitdet"
    try:
        settings = read_settings()
        low_memory, detector = settings.low_memory, settings.detector
        out.append(_entry("settings", True, f"batch {settings.batch}, precision {settings.precision}, "
                          f"device {settings.device}, detector {settings.detector}", ""))
    except BaseException as e:
        out.append(_entry("settings", False, str(e), "fix or unset the POSEPIPE_PHALP_* variable named"))
    for module in ("torch", "hmr2", "phalp", "detectron2"):
        out.append(_guard(f"import {module}", IMPORT_FIXES[module], lambda m=module: _import(m)))
    out.append(_guard("torch weights_only", IMPORT_FIXES["torch"], _torch_version))
    out.append(_guard("cuda", IMPORT_FIXES["torch"], lambda: _cuda(low_memory)))
    out.append(_guard("egl/osmesa", "sudo apt-get install libegl1", _gl))
    for label, path in zip(("smpl 4DHumans", "smpl phalp"), smpl_paths()):
        out.append(_guard(label, SMPL_FIX.format(path=path), lambda p=path, n=label: _file(n, p, SMPL_FIX)))
    out.extend(_checkpoints_safe(detector))
    return out


def _checkpoints_safe(detector: str) -> List[Check]:
    try:
        return _checkpoints(detector)
    except BaseException as e:
        return [_entry("checkpoints", False, f"{type(e).__name__}: {e}", "run 4D-Humans' demo.py once")]
