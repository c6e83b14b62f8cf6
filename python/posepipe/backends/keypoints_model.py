"""Keypoint R-CNN for the keypoints backend: where its weights come from, how it is built and run,
and how its output becomes posepipe rows. Only the functions that need torch import it.
"""

import os
import socket
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import EnvironmentProblem
from .keypoints_config import PREFIX, RANDOM, Settings, size_pair

COCO_URL = "https://download.pytorch.org/models/keypointrcnn_resnet50_fpn_coco-fc266e95.pth"
DOWNLOAD_TIMEOUT_S = 15.0  # per connect and per read: an unreachable internet fails fast, a slow one still works
RANDOM_SEED = 0
PERSON = 1  # COCO person: the only foreground class of torchvision's Keypoint R-CNN


def cache_path(hub_dir: str) -> str:
    """Where torchvision keeps the COCO weights: <torch hub dir>/checkpoints/<file name of the URL>."""
    return os.path.join(hub_dir, "checkpoints", os.path.basename(COCO_URL))


def no_weights_message(path: str, why: str) -> str:
    """The environment error for missing weights: the exact file to put in place, and the alternative."""
    return (f"no Keypoint R-CNN weights: put {os.path.basename(COCO_URL)} (from {COCO_URL}) at {path}, "
            f"or set {PREFIX}WEIGHTS to a state-dict .pth file ({why})")


def _download(url: str, path: str) -> None:
    import torch
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # torch.hub's urlopen takes the process default
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # Downloads to a temporary name, checks the hash prefix in the file name, then renames.
        torch.hub.download_url_to_file(url, path, hash_prefix=os.path.basename(url).split("-")[-1].split(".")[0], progress=False)
    finally:
        socket.setdefaulttimeout(previous)


def find_weights(setting: Optional[str], hub_dir: str,
                 download: Callable[[str, str], None] = _download) -> Tuple[Optional[str], str]:
    """(file to load or None for random init, label for `version`); EnvironmentProblem if none."""
    if setting == RANDOM:
        return None, f"random init (seed {RANDOM_SEED}, for benchmarks only)"
    if setting is not None:
        if not os.path.isfile(setting):
            raise EnvironmentProblem(f"{PREFIX}WEIGHTS={setting!r}: no such file (a Keypoint R-CNN state-dict .pth, "
                                     f"or unset it to use {cache_path(hub_dir)})")
        return setting, os.path.basename(setting)
    path = cache_path(hub_dir)
    if os.path.isfile(path):
        return path, "COCO_V1"
    print(f"keypoints: no weights at {path}; downloading {COCO_URL}", file=sys.stderr, flush=True)
    try:
        download(COCO_URL, path)
    except Exception as e:  # noqa: B902  any failure to download means the same thing to the user
        raise EnvironmentProblem(no_weights_message(path, f"download failed: {type(e).__name__}: {e}")) from None
    if not os.path.isfile(path):
        raise EnvironmentProblem(no_weights_message(path, "download left no file"))
    return path, "COCO_V1"


def build_model(settings: Settings, weights: Optional[str]) -> Any:
    """Keypoint R-CNN (ResNet-50 FPN) in eval mode on the CPU, with the given weights or seeded random ones."""
    import torch
    from torchvision.models.detection import keypointrcnn_resnet50_fpn
    min_size, max_size = size_pair(settings.size)
    options = dict(min_size=min_size, max_size=max_size, box_score_thresh=settings.min_score,
                   box_detections_per_img=settings.max_persons,
                   rpn_pre_nms_top_n_test=settings.proposals, rpn_post_nms_top_n_test=settings.proposals)
    torch.manual_seed(RANDOM_SEED)  # random init is the same model in every process
    model = keypointrcnn_resnet50_fpn(weights=None, weights_backbone=None, **options)
    if weights is not None:
        try:
            state = torch.load(weights, map_location="cpu")
            if isinstance(state, dict) and isinstance(state.get("model"), dict):
                state = state["model"]  # a training checkpoint rather than a bare state dict
            model.load_state_dict(state)
        except Exception as e:  # noqa: B902  a bad file is the user's setup, not a crash
            raise EnvironmentProblem(f"cannot load Keypoint R-CNN weights from {weights}: {type(e).__name__}: "
                                     f"{str(e).splitlines()[0] if str(e) else ''}") from None
    return model.eval()


def _to_float(value: Any) -> Any:
    import torch
    if isinstance(value, torch.Tensor):
        return value.float()
    if isinstance(value, (tuple, list)):
        return type(value)(_to_float(v) for v in value)
    if isinstance(value, dict):  # the FPN's feature maps, an OrderedDict
        return type(value)((k, _to_float(v)) for k, v in value.items())
    return value


def add_hooks(model: Any, beat: Callable[[], None]) -> None:
    """Keep box/keypoint decoding in fp32 under autocast, and call beat() between the model's stages.

    Under bf16/fp16 autocast the heads' outputs would be half precision: a bf16 box corner at
    x = 1000 is off by up to 4 pixels, and torchvision's CPU NMS has no bf16 kernel. Casting each
    head's output (and the features the RoI poolers read) to fp32 keeps only the convolutions and
    linear layers in reduced precision.
    """
    for head in (model.rpn.head, model.roi_heads.box_predictor, model.roi_heads.keypoint_predictor):
        head.register_forward_hook(lambda module, inputs, output: _to_float(output))
    for pool in (model.roi_heads.box_roi_pool, model.roi_heads.keypoint_roi_pool):
        pool.register_forward_pre_hook(lambda module, inputs: (_to_float(inputs[0]),) + tuple(inputs[1:]))
    stages = [getattr(model.backbone.body, f"layer{i}") for i in range(1, 5)]
    stages += [model.backbone.fpn, model.rpn, model.roi_heads.box_head, model.roi_heads.keypoint_head]
    for stage in stages:
        stage.register_forward_hook(lambda module, inputs, output: beat())


def forward(model: Any, device: str, precision: str, frames: Sequence[np.ndarray]) -> List[Dict[str, np.ndarray]]:
    """One pass over BGR uint8 frames; per frame: boxes (N,4 x1,y1,x2,y2), labels, scores, keypoints
    (N,17,3), keypoints_scores (N,17) as numpy, in pixels of the frame as given."""
    import torch
    images = [torch.from_numpy(np.ascontiguousarray(f)).to(device).permute(2, 0, 1).flip(0).float().div_(255.0)
              for f in frames]
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    with torch.inference_mode():
        if dtype is None:
            outputs = model(images)
        else:
            with torch.autocast(device_type=device.split(":")[0], dtype=dtype):
                outputs = model(images)
        return [{k: v.float().cpu().numpy() if v.is_floating_point() else v.cpu().numpy() for k, v in o.items()}
                for o in outputs]


MIN_BOX_PX = 1.0  # see detections()


def detections(output: Dict[str, np.ndarray], min_score: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Persons at or above min_score: boxes (N,4 float64 x, y, w, h), scores (N, float64) and
    keypoints (N,17,3 float32: x, y, keypoint score). Values are float32-exact so they can be
    found again in the tracker's float32 rows.

    A box under one pixel wide or high is no person, and torchvision decodes its keypoints as if
    it were one pixel (its heatmap widths are clamped to 1), so they would lie outside the box and
    even outside the image: such boxes are dropped."""
    every = output["boxes"].reshape(-1, 4)
    sized = ((every[:, 2] - every[:, 0]) >= MIN_BOX_PX) & ((every[:, 3] - every[:, 1]) >= MIN_BOX_PX)
    keep = (output["labels"] == PERSON) & (output["scores"] >= min_score) & sized
    corners = every[keep].astype(np.float64)
    boxes = np.stack([corners[:, 0], corners[:, 1], corners[:, 2] - corners[:, 0], corners[:, 3] - corners[:, 1]], axis=1)
    keypoints = np.array(output["keypoints"][keep], dtype=np.float32).reshape(-1, 17, 3)
    keypoints[:, :, 2] = output["keypoints_scores"][keep].reshape(-1, 17)
    boxes = boxes.astype(np.float32).astype(np.float64)
    scores = output["scores"][keep].astype(np.float32).astype(np.float64)
    return boxes, scores, keypoints


def keypoints_for_rows(frame: np.ndarray, bbox: np.ndarray, score: np.ndarray,
                       found: Dict[Tuple[int, bytes, bytes], List[np.ndarray]]) -> np.ndarray:
    """Each tracker row's keypoints (M,17,3 float32), looked up by (frame, box, score).

    posepipe.sort keeps each row's own detection box and score, so they identify the detection;
    NMS leaves no two person boxes of one frame identical, and a (never seen) tie would take the
    detections in their model order, which is still deterministic.
    """
    out = np.zeros((len(frame), 17, 3), dtype=np.float32)
    for i in range(len(frame)):
        key = row_key(int(frame[i]), bbox[i], score[i])
        out[i] = found[key].pop(0)
    return out


def row_key(frame: int, box: np.ndarray, score: float) -> Tuple[int, bytes, bytes]:
    """The lookup key of a detection or a row: its frame and its float32 box and score bytes."""
    return frame, np.asarray(box, dtype=np.float32).tobytes(), np.float32(score).tobytes()
