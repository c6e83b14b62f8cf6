"""Stand-in for phalp.models.hmar.hmr.HMR2018Predictor: the old HMAR's appearance and 3D helpers.

Surface as in phalp/models/hmar/hmar.py and hmr.py: HMAR(cfg).forward(x) -> dict with uv_image,
uv_vector (HMAR's process_uv_image: RGB / 5, mask channel -1/1), pose_smpl, pred_cam;
autoencoder_hmar(uv_vector, en=True) -> (B, 4096); get_3d_parameters(pose_smpl, pred_cam,
center=(B, 2) numpy, img_size, scale=(B, 1) numpy) -> (the same pose_smpl, 2D joints (B, 45, 2) in
img_size px, 3D joints (B, 45, 3) whose last row is the model origin (zeros), camera translation
(B, 3) computed with the real formula). No SMPL mesh here: joints 0-43 form a grid in the box.
"""
import os

import numpy as np
import torch
from torch import nn


def _process_uv_image(uv_image):
    mask = uv_image[:, 3:]
    rgb = torch.where(mask == 0, torch.zeros_like(uv_image[:, :3]), uv_image[:, :3] / 5.0)
    return torch.cat([rgb, torch.where(mask == 0, -torch.ones_like(mask), torch.ones_like(mask))], 1)


class HMAR(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.smpl = None

    def load_weights(self, path):
        if not os.path.isfile(path):
            raise FileNotFoundError(path)

    def forward(self, x):
        assert x.ndim == 4 and x.shape[1:] == (4, 256, 256), f"HMAR input {tuple(x.shape)}"
        b = x.shape[0]
        uv_image = x.float()
        return {"uv_image": uv_image, "uv_vector": _process_uv_image(uv_image),
                "pose_emb": torch.zeros(b, 2048),
                "pose_smpl": {"global_orient": torch.eye(3).repeat(b, 1, 1, 1), "body_pose": torch.eye(3).repeat(b, 23, 1, 1),
                              "betas": torch.zeros(b, 10)},
                "pred_cam": torch.tensor([[1.0, 0.0, 0.0]]).repeat(b, 1)}

    def autoencoder_hmar(self, x, en=True):
        assert en and x.shape[1:] == (4, 256, 256)
        return nn.functional.adaptive_avg_pool2d(x, 32).reshape(x.shape[0], 4096)

    def get_3d_parameters(self, pred_smpl_params, pred_cam, center=np.array([128, 128]), img_size=256, scale=None):
        b = pred_cam.shape[0]
        assert isinstance(center, np.ndarray) and center.shape == (b, 2), f"center {np.shape(center)}"
        assert isinstance(scale, np.ndarray) and scale.shape == (b, 1), f"scale {np.shape(scale)}"
        assert set(pred_smpl_params) == {"global_orient", "body_pose", "betas"}, sorted(pred_smpl_params)
        assert pred_smpl_params["global_orient"].shape == (b, 1, 3, 3)
        assert pred_smpl_params["body_pose"].shape == (b, 23, 3, 3) and pred_smpl_params["betas"].shape == (b, 10)
        focal = float(self.cfg.EXTRA.FOCAL_LENGTH)
        dtype = pred_cam.dtype
        tz = 2 * focal / (pred_cam[:, 0] * torch.tensor(scale[:, 0], dtype=dtype) + 1e-9)
        cam_t = torch.stack([pred_cam[:, 1], pred_cam[:, 2], tz], 1)
        cam_t[:, :2] += torch.tensor(center - img_size / 2.0, dtype=dtype) * cam_t[:, [2]] / focal
        gx, gy = torch.meshgrid(torch.linspace(-0.2, 0.2, 4), torch.linspace(-0.4, 0.4, 11), indexing="ij")
        grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)  # (44, 2), within the box's half-height
        box = torch.tensor(center, dtype=dtype)[:, None, :] + grid[None] * torch.tensor(scale, dtype=dtype)[:, None, :]
        joints2d = torch.cat([box, torch.tensor(center, dtype=dtype)[:, None, :]], 1)
        joints3d = torch.cat([grid, torch.zeros(44, 1)], 1)[None] + pred_smpl_params["betas"][:, :1, None].float()
        joints3d = torch.cat([joints3d, torch.zeros(b, 1, 3)], 1)
        return pred_smpl_params, joints2d, joints3d, cam_t


class HMR2018Predictor(nn.Module):
    def __init__(self, cfg) -> None:
        super().__init__()
        self.hmar_old = HMAR(cfg)
        self.smpl = self.hmar_old.smpl
        self.load_weights(cfg.hmr.hmar_path)

    def forward(self, x):
        return self.hmar_old(x)

    def load_weights(self, path):
        self.hmar_old.load_weights(path)

    def autoencoder_hmar(self, *args, **kwargs):
        return self.hmar_old.autoencoder_hmar(*args, **kwargs)

    def get_3d_parameters(self, *args, **kwargs):
        return self.hmar_old.get_3d_parameters(*args, **kwargs)
