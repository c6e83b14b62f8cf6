"""Stand-in for phalp.models.hmar.hmr.HMR2018Predictor: the old HMAR's appearance and 3D helpers."""
import os

import numpy as np
import torch
from torch import nn


class HMAR(nn.Module):
    """uv_vector from the crop itself; 4096-d appearance by pooling; joints placed in the box."""

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
        return {"uv_vector": x.float().clone(), "uv_image": x.float(),
                "pose_smpl": {"global_orient": torch.eye(3).repeat(b, 1, 1, 1), "body_pose": torch.eye(3).repeat(b, 23, 1, 1),
                              "betas": torch.zeros(b, 10)},
                "pred_cam": torch.zeros(b, 3)}

    def autoencoder_hmar(self, x, en=True):
        assert en and x.shape[1:] == (4, 256, 256)
        return nn.functional.adaptive_avg_pool2d(x, 32).reshape(x.shape[0], 4096)

    def get_3d_parameters(self, pose_smpl, pred_cam, center, img_size, scale):
        """(smpl params, joints 2D (B, 45, 2) in img_size px of the padded square, joints 3D (B, 45, 3),
        camera translation (B, 3)). The 2D joints lie inside the person's box: a 5 x 9 grid."""
        b = pred_cam.shape[0]
        center = torch.as_tensor(np.asarray(center), dtype=torch.float32).reshape(b, 2)
        scale = torch.as_tensor(np.asarray(scale), dtype=torch.float32).reshape(b, 1)
        assert pose_smpl["global_orient"].shape == (b, 1, 3, 3) and pose_smpl["body_pose"].shape == (b, 23, 3, 3)
        assert pose_smpl["betas"].shape == (b, 10)
        gx, gy = torch.meshgrid(torch.linspace(-0.2, 0.2, 5), torch.linspace(-0.4, 0.4, 9), indexing="ij")
        grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)  # (45, 2), within the box's half-height
        joints2d = center[:, None, :] + grid[None] * scale[:, None, :]
        tz = 2 * self.cfg.EXTRA.FOCAL_LENGTH / (scale.reshape(b) + 1e-9)
        cam_t = torch.stack([pred_cam[:, 1].float(), pred_cam[:, 2].float(), tz], 1)
        joints3d = torch.cat([grid, torch.zeros(45, 1)], 1)[None].repeat(b, 1, 1) + pose_smpl["betas"][:, :1, None].float()
        return pose_smpl, joints2d, joints3d, cam_t


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
