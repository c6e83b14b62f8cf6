"""Stand-in for phalp.utils.utils.smpl_to_pose_camera_vector, with the real contract: numpy SMPL
parameters, the camera translation as a torch tensor (the real one calls .view on it), and its
depth divided by 200 in the (1, 229) result."""
import numpy as np
import torch


def smpl_to_pose_camera_vector(smpl_params, camera):
    """(1, 229): global orient 9 + body pose 207 + betas 10 + camera 3 (z / 200)."""
    assert isinstance(camera, torch.Tensor), f"camera must be a tensor, got {type(camera).__name__}"
    go = np.asarray(smpl_params["global_orient"]).reshape(1, -1)
    bp = np.asarray(smpl_params["body_pose"]).reshape(1, -1)
    betas = np.asarray(smpl_params["betas"]).reshape(1, -1)
    cam = camera.view(1, -1).clone()
    assert (go.shape[1], bp.shape[1], betas.shape[1], cam.shape[1]) == (9, 207, 10, 3), "smpl/camera shapes"
    cam[:, 2] = cam[:, 2] / 200.0
    return np.concatenate([go, bp, betas, cam.cpu().numpy()], 1)
