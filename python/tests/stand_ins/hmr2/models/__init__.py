"""Stand-in for hmr2.models: load_hmr2 returns a tiny deterministic model with HMR2's outputs.

As in shubham-goel/4D-Humans hmr2/models/__init__.py: DEFAULT_CHECKPOINT under
CACHE_DIR_4DHUMANS/logs/train/multiruns/hmr2/0/; load_hmr2(checkpoint_path) reads
model_config.yaml two folders up (get_config, update_cachedir=True), sets MODEL.BBOX_SHAPE for a
ViT backbone, checks the SMPL model (check_smpl_exists) and returns
(HMR2.load_from_checkpoint(path, strict=False, cfg=model_cfg), model_cfg). HMR2(cfg,
init_renderer=True) builds a MeshRenderer (a pyrender OffscreenRenderer: an OpenGL context) unless
init_renderer is False; Lightning's load_from_checkpoint passes extra keywords to __init__.
HMR2.forward(batch) returns pred_smpl_params (global_orient (B,1,3,3), body_pose (B,23,3,3),
betas (B,10)), pred_cam (B,3) and more. Importing this module imports hmr2.utils (and pyrender).
"""
import os
from typing import Any, Dict, List, Optional, Tuple

import torch

from _faults import env_int
from ..configs import CACHE_DIR_4DHUMANS, get_config
from ..utils import MeshRenderer

DEFAULT_CHECKPOINT = os.path.join(CACHE_DIR_4DHUMANS, "logs/train/multiruns/hmr2/0/checkpoints/epoch=35-step=1000000.ckpt")

# (batch size, autocast dtype or None) per forward, for tests.
CALLS: List[Tuple[int, Optional[torch.dtype]]] = []


def _rotations(angles: torch.Tensor) -> torch.Tensor:
    """(..., ) angles -> (..., 3, 3) rotations about z."""
    c, s = torch.cos(angles), torch.sin(angles)
    zero, one = torch.zeros_like(c), torch.ones_like(c)
    return torch.stack([c, -s, zero, s, c, zero, zero, zero, one], -1).reshape(*angles.shape, 3, 3)


class HMR2(torch.nn.Module):
    def __init__(self, cfg: Any, init_renderer: bool = True) -> None:
        super().__init__()
        self.cfg = cfg
        self.mesh_renderer = MeshRenderer(cfg) if init_renderer else None
        generator = torch.Generator().manual_seed(0)
        self.head = torch.nn.Linear(48, 1 + 23 + 10 + 3)
        with torch.no_grad():
            self.head.weight.copy_(torch.randn(self.head.weight.shape, generator=generator) * 0.1)
            self.head.bias.zero_()

    def forward(self, batch: Dict[str, Any]) -> Dict[str, Any]:
        img, mask = batch["img"], batch["mask"]
        assert img.ndim == 4 and img.shape[1:] == (3, 256, 256), f"img {tuple(img.shape)}"
        assert mask.shape == (img.shape[0], 256, 256), f"mask {tuple(mask.shape)}"
        b = img.shape[0]
        limit = env_int("POSEPIPE_STANDIN_OOM_ABOVE")
        if limit is not None and b > limit:
            raise torch.cuda.OutOfMemoryError(f"CUDA out of memory. Tried to allocate {b * 64} MiB (stand-in, batch {b})")
        autocast = torch.get_autocast_cpu_dtype() if torch.is_autocast_cpu_enabled() else None
        CALLS.append((b, autocast))
        feats = torch.nn.functional.adaptive_avg_pool2d(img, 4).reshape(b, 48)
        out = self.head(feats)
        angles = torch.tanh(out[:, :24].float())
        betas = out[:, 24:34]
        cam = torch.cat([0.9 + 0.1 * torch.tanh(out[:, 34:35]), out[:, 35:37]], 1)  # scale > 0, as trained
        return {
            "pred_smpl_params": {"global_orient": _rotations(angles[:, :1]), "body_pose": _rotations(angles[:, 1:24]),
                                 "betas": betas},
            "pred_cam": cam,
            "pred_cam_t": cam.float() + torch.tensor([0.0, 0.0, 20.0]),
            "focal_length": torch.full((b, 2), 5000.0),
            "pred_keypoints_2d": torch.zeros(b, 44, 2),
            "pred_keypoints_3d": torch.zeros(b, 44, 3),
        }


    @classmethod
    def load_from_checkpoint(cls, checkpoint_path: str, strict: bool = True, **kwargs: Any) -> "HMR2":
        """Lightning's: the checkpoint must exist; keywords (cfg, init_renderer) go to __init__."""
        if not os.path.isfile(checkpoint_path):
            raise FileNotFoundError(checkpoint_path)
        return cls(**kwargs)


def check_smpl_exists() -> bool:
    """The real one also converts ./data/basicModel_neutral_lbs_10_207_0_v1.0.0.pkl; here: it must be there."""
    path = os.path.join(CACHE_DIR_4DHUMANS, "data/smpl/SMPL_NEUTRAL.pkl")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"SMPL model not found at {path}")
    return True


def load_hmr2(checkpoint_path: str = DEFAULT_CHECKPOINT) -> Tuple[HMR2, Dict[str, Any]]:
    """Like the real one: (model built WITH its mesh renderer, model config)."""
    model_cfg = get_config(os.path.join(os.path.dirname(os.path.dirname(checkpoint_path)), "model_config.yaml"),
                           update_cachedir=True)
    if model_cfg.MODEL.BACKBONE.TYPE == "vit" and "BBOX_SHAPE" not in model_cfg.MODEL:
        model_cfg.defrost()
        model_cfg.MODEL.BBOX_SHAPE = [192, 256]
        model_cfg.freeze()
    check_smpl_exists()
    return HMR2.load_from_checkpoint(checkpoint_path, strict=False, cfg=model_cfg), model_cfg


def download_models(folder: str = CACHE_DIR_4DHUMANS) -> None:
    raise AssertionError("posepipe must never call download_models (it downloads silently)")
