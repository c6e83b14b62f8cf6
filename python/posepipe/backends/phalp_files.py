"""Every file the phalp backend needs on disk: where 4D-Humans, PHALP, torch and detectron2 read it,
and where it is published. One list, which `posepipe models pull --tracker phalp` fetches (and
`--list` prints), `posepipe doctor` checks, and load() checks before building anything.

Read from the upstream code (brjathu/PHALP 96f7e6c, shubham-goel/4D-Humans 6ec7965, detectron2,
iopath, torch.hub):
- PHALP's constructor (cached_download_from_drive) fetches twelve files into $HOME/.cache/phalp when
  they are missing, from www.cs.utexas.edu/~pavlakos/phalp since 2026-02 (before: people.eecs.
  berkeley.edu/~jathushan/projects/phalp). It writes straight to the final name, so an interrupted
  download stays behind as a "present" file; posepipe's pull goes through a .part and checks size.
- PHALP's HMAR builds a ResNet-50 with pretrained=True: torch.hub fetches resnet50-19c8e357.pth into
  <torch hub dir>/checkpoints (the name carries the SHA-256 prefix; torch does not check it here).
- 4D-Humans' download_models fetches hmr2_data.tar.gz into $HOME/.cache/4DHumans and unpacks it
  there: HMR2's checkpoint, its model_config.yaml, data/smpl_mean_params.npz and
  data/SMPL_to_J19.pkl (HMR2's config reads SMPL.MEAN_PARAMS and SMPL.JOINT_REGRESSOR_EXTRA there).
  Its URL is reported dead since 2026-01 (4D-Humans issue 180); the same path on the host PHALP
  moved to is tried next, unconfirmed.
- detectron2 caches its model-zoo weights under iopath's cache ($FVCORE_CACHE or
  ~/.torch/iopath_cache) by the URL's path; the model zoo's file names carry an MD5 prefix.
- The SMPL neutral model's licence forbids redistribution: the user downloads it (manual).
"""

import os
from typing import Any, Dict, List, Optional

from .torch_device import torch_hub_dir

PHALP_HOST = "https://www.cs.utexas.edu/~pavlakos/phalp/"
PHALP_OLD_HOST = "https://people.eecs.berkeley.edu/~jathushan/projects/phalp/"
# (file name PHALP saves, path on PHALP's host, folder under PHALP's cache)
PHALP_FILES = (
    ("head_faces.npy", "3D/head_faces.npy", "3D"),
    ("mean_std.npy", "3D/mean_std.npy", "3D"),
    ("smpl_mean_params.npz", "3D/smpl_mean_params.npz", "3D"),
    ("SMPL_to_J19.pkl", "3D/SMPL_to_J19.pkl", "3D"),
    ("texture.npz", "3D/texture.npz", "3D"),
    ("bmap_256.npy", "bmap_256.npy", "3D"),
    ("fmap_256.npy", "fmap_256.npy", "3D"),
    ("hmar_v2_weights.pth", "weights/hmar_v2_weights.pth", "weights"),
    ("pose_predictor.pth", "weights/pose_predictor_40006.ckpt", "weights"),
    ("pose_predictor.yaml", "weights/config_40006.yaml", "weights"),
    ("ava_labels.pkl", "ava/ava_labels.pkl", "ava"),
    ("ava_class_mapping.pkl", "ava/ava_class_mappping.pkl", "ava"),  # sic: three p's on the host
)
RESNET50_URL = "https://download.pytorch.org/models/resnet50-19c8e357.pth"
HMR2_DATA_URLS = ("https://people.eecs.berkeley.edu/~jathushan/projects/4dhumans/hmr2_data.tar.gz",
                  "https://www.cs.utexas.edu/~pavlakos/4dhumans/hmr2_data.tar.gz")
HMR2_CHECKPOINT = "logs/train/multiruns/hmr2/0/checkpoints/epoch=35-step=1000000.ckpt"
DETECTRON2_URL = "https://dl.fbaipublicfiles.com/"
# PHALP's detector (cfg.phalp.detector), and the Mask R-CNN X-101 it always builds: (path, MD5 prefix).
DETECTOR_FILES = {
    "vitdet": ("detectron2/ViTDet/COCO/cascade_mask_rcnn_vitdet_h/f328730692/model_final_f05665.pkl", None),
    "maskrcnn": ("detectron2/new_baselines/mask_rcnn_regnety_4gf_dds_FPN_400ep_LSJ/42045954/model_final_ef3a80.pkl",
                 "ef3a80"),
}
MASK_RCNN_FILE = ("detectron2/COCO-InstanceSegmentation/mask_rcnn_X_101_32x8d_FPN_3x/139653917/model_final_2d9806.pkl",
                  "2d9806")
SMPL_HOW = ("download the SMPL neutral model (basicModel_neutral_lbs_10_207_0_v1.0.0.pkl) from "
            "https://smpl.is.tue.mpg.de (licence: register and accept) and copy it here as SMPL_NEUTRAL.pkl")


def cache_dirs() -> Dict[str, str]:
    """PHALP's and 4D-Humans' cache folders, from the packages when they import ($HOME/.cache/...)."""
    home_cache = os.path.join(os.environ.get("HOME") or os.path.expanduser("~"), ".cache")
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


def iopath_cache() -> str:
    """Where detectron2 keeps what it downloads (iopath's cache: $FVCORE_CACHE or ~/.torch/iopath_cache)."""
    return os.path.expanduser(os.environ.get("FVCORE_CACHE", "~/.torch/iopath_cache"))


def smpl_paths() -> List[str]:
    """The two places the SMPL neutral model must be (4D-Humans' and PHALP's caches)."""
    dirs = cache_dirs()
    return [os.path.join(dirs["4dhumans"], "data", "smpl", "SMPL_NEUTRAL.pkl"),
            os.path.join(dirs["phalp"], "3D", "models", "smpl", "SMPL_NEUTRAL.pkl")]


def hmr2_files() -> List[str]:
    """What load_hmr2 reads from the unpacked hmr2_data.tar.gz: the checkpoint, model_config.yaml
    two folders above it, and the SMPL data files HMR2's config points into the 4D-Humans cache."""
    root = cache_dirs()["4dhumans"]
    checkpoint = os.path.join(root, HMR2_CHECKPOINT)
    return [checkpoint, os.path.join(os.path.dirname(os.path.dirname(checkpoint)), "model_config.yaml"),
            os.path.join(root, "data", "smpl_mean_params.npz"), os.path.join(root, "data", "SMPL_to_J19.pkl")]


def _file(name: str, url: str, dest: str, alternates: Optional[List[str]] = None, **checks: Any) -> Dict[str, Any]:
    entry: Dict[str, Any] = {"name": name, "url": url, "dest": dest}
    if alternates:
        entry["alternates"] = alternates
    entry.update({k: v for k, v in checks.items() if v is not None})
    return entry


def manifest(detector: str) -> Dict[str, Any]:
    """{"files": [...], "manual": [...]} for the chosen detector (see src/models/manifest.ts)."""
    dirs = cache_dirs()
    files = [_file(name, PHALP_HOST + path, os.path.join(dirs["phalp"], folder, name), [PHALP_OLD_HOST + path])
             for name, path, folder in PHALP_FILES]
    files.append(_file("resnet50-19c8e357.pth", RESNET50_URL,
                       os.path.join(torch_hub_dir(), "checkpoints", "resnet50-19c8e357.pth"), sha256Prefix="19c8e357"))
    files.append(_file("hmr2_data.tar.gz", HMR2_DATA_URLS[0], os.path.join(dirs["4dhumans"], "hmr2_data.tar.gz"),
                       list(HMR2_DATA_URLS[1:]), unpack={"into": dirs["4dhumans"], "provides": hmr2_files()}))
    for path, md5 in (DETECTOR_FILES[detector], MASK_RCNN_FILE):
        files.append(_file(os.path.basename(path), DETECTRON2_URL + path,
                           os.path.join(iopath_cache(), path), md5Prefix=md5))
    manual = [{"name": "SMPL_NEUTRAL.pkl", "dest": path, "how": SMPL_HOW} for path in smpl_paths()]
    return {"files": files, "manual": manual}


def missing_paths(entry: Dict[str, Any]) -> List[str]:
    """What of a manifest file is not in place: its destination, or for an archive the files it provides."""
    paths = entry["unpack"]["provides"] if "unpack" in entry else [entry["dest"]]
    return [p for p in paths if not os.path.isfile(p)]


def first_missing(detector: str) -> Optional[str]:
    """The first file of the manifest not in place, as a message with its URL and destination."""
    for entry in manifest(detector)["files"]:
        missing = missing_paths(entry)
        if missing:
            return (f"{missing[0]} is missing (from {entry['url']}, saved as {entry['dest']}): run "
                    "`posepipe models pull --tracker phalp` once with internet access")
    return None
