import numpy as np


def smpl_to_pose_camera_vector(smpl_params, pred_cam):
    """(1, 229): global orient 9 + body pose 207 + betas 10 + camera 3, as PHALP's pose embedding."""
    go = np.asarray(smpl_params["global_orient"]).reshape(-1)
    bp = np.asarray(smpl_params["body_pose"]).reshape(-1)
    betas = np.asarray(smpl_params["betas"]).reshape(-1)
    cam = np.asarray(pred_cam).reshape(-1)
    assert (go.size, bp.size, betas.size, cam.size) == (9, 207, 10, 3), "smpl/camera shapes"
    return np.concatenate([go, bp, betas, cam])[None, :]
