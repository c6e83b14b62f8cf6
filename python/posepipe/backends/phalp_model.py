"""Building 4D-Humans' tracker once: PHALP with HMR2 as its mesh-recovery model, rendering off.

4D-Humans keeps its PHALP subclass (HMR2_4dhuman) in track.py, a script rather than a module, so
posepipe builds the equivalent from the installed packages: PHALP's HMR2018Predictor (whose old
HMAR supplies the appearance texture and the 3D helpers) with HMR2 (hmr2.models.load_hmr2)
supplying the SMPL parameters and camera, run under autocast at the chosen precision. The
visualizer (two EGL renderers) is never created. This is 4D-Humans' HMR2Predictor from track.py,
not the HMR2023TextureSampler its track.py now uses by default (appearance sampled from HMR2's own
mesh with neural_renderer): appearance embeddings come from the old HMAR's texture head, so
neural_renderer is not needed and tracks can differ slightly from stock track.py.
"""

import atexit
import contextlib
import os
import re
import shutil
import sys
import tempfile
from typing import Any, Callable

from ..errors import EnvironmentProblem
from .phalp_config import PhalpSettings

BBOX_SHAPE = (192, 256)  # 4D-Humans' Human4DConfig.expand_bbox_shape: HMR2's crop aspect


def autocast_factory(torch: Any, device: str, precision: str) -> Callable[[], Any]:
    """A context for HMR2's forward: autocast to bf16/fp16, or nothing for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    kind = "cuda" if device.startswith("cuda") else "cpu"
    return lambda: torch.autocast(device_type=kind, dtype=dtype)


def load_hmr2_without_renderer(checkpoint: str) -> Any:
    """4D-Humans' load_hmr2, but HMR2 built with init_renderer=False: load_hmr2 cannot pass it, and
    HMR2's mesh renderer opens an OpenGL context (on EGL device 0 whatever the GPU) that posepipe
    never uses. The same steps as load_hmr2 otherwise; an HMR2 without the option gets load_hmr2."""
    import inspect
    from hmr2.models import HMR2, check_smpl_exists, load_hmr2
    if "init_renderer" not in inspect.signature(HMR2.__init__).parameters:
        return load_hmr2(checkpoint)[0]
    from hmr2.configs import get_config
    model_cfg = get_config(os.path.join(os.path.dirname(os.path.dirname(checkpoint)), "model_config.yaml"),
                           update_cachedir=True)
    if model_cfg.MODEL.BACKBONE.TYPE == "vit" and "BBOX_SHAPE" not in model_cfg.MODEL:
        model_cfg.defrost()
        model_cfg.MODEL.BBOX_SHAPE = list(BBOX_SHAPE)  # what load_hmr2 sets for the ViT backbone
        model_cfg.freeze()
    check_smpl_exists()
    return HMR2.load_from_checkpoint(checkpoint, strict=False, cfg=model_cfg, init_renderer=False)


def build_tracker(settings: PhalpSettings, device: str, precision: str, gl_platform: str) -> Any:
    """Import hmr2/phalp (ImportError propagates: an environment error) and build the tracker."""
    import torch
    from hmr2.datasets.utils import expand_bbox_to_aspect_ratio
    from hmr2.models import DEFAULT_CHECKPOINT
    from omegaconf import OmegaConf
    from phalp.configs.base import FullConfig
    from phalp.models.hmar.hmr import HMR2018Predictor
    from phalp.trackers.PHALP import PHALP

    from . import phalp_gl
    phalp_gl.restore(gl_platform)  # PHALP's import forced egl

    from . import phalp_files
    for entry in phalp_files.manifest(settings.detector)["manual"]:
        if not os.path.isfile(entry["dest"]):
            # PHALP would otherwise fetch an unofficial copy with os.system("wget ...").
            raise EnvironmentProblem(f"SMPL model {entry['dest']} is missing: {entry['how']}")
    # PHALP's constructor would download what is missing, into final names, inside the worker's
    # startup deadline (the ViTDet file alone is 2.6 GB), and fail offline deep in its code.
    missing = phalp_files.first_missing(settings.detector)
    if missing:
        raise EnvironmentProblem(missing)
    if device.startswith("cuda:"):
        # The worker sees its GPU alone (pinning.py), as cuda:0; PHALP's bare .cuda() calls land there.
        torch.cuda.set_device(torch.device(device))
    autocast = autocast_factory(torch, device, precision)

    class HMR2Predictor(HMR2018Predictor):
        """HMAR's appearance/3D helpers with HMR2's pose and camera, batched, at `precision`."""

        def __init__(self, cfg: Any) -> None:
            super().__init__(cfg)
            self.model = load_hmr2_without_renderer(DEFAULT_CHECKPOINT)
            self.model.eval()

        def forward(self, x: Any) -> Any:
            out = dict(self.hmar_old(x))
            batch = {"img": x[:, :3, :, :], "mask": x[:, 3, :, :].clip(0, 1)}
            with autocast():
                model_out = self.model(batch)
            out["pose_smpl"] = {k: v.float() for k, v in model_out["pred_smpl_params"].items()}
            out["pred_cam"] = model_out["pred_cam"].float()
            return out

    class PosepipePHALP(PHALP):
        """PHALP with HMR2, no visualizer, 4D-Humans' padded boxes (HMR2_4dhuman.get_detections)."""

        def setup_hmr(self) -> None:
            self.HMAR = HMR2Predictor(self.cfg)

        def setup_visualizer(self) -> None:
            self.visualizer = None  # rendering is off: no OpenGL context, no GPU memory for it

        def get_detections(self, image: Any, frame_name: Any, t_: int, additional_data: Any = None,
                           measurments: Any = None) -> Any:
            bbox, _, masks, scores, classes, gt_tids, gt_annots = super().get_detections(
                image, frame_name, t_, additional_data, measurments)
            return bbox, expand_bbox_to_aspect_ratio(bbox, BBOX_SHAPE), masks, scores, classes, gt_tids, gt_annots

    cfg = OmegaConf.structured(FullConfig)
    cfg.device = device
    cfg.render.enable = False
    cfg.detect_shots = False
    cfg.phalp.detector = settings.detector
    cfg.phalp.start_frame = -1  # never PHALP's frame slicing: posepipe hands over exactly the chunk
    cfg.video.end_frame = -1    # (track.py's silent 1300-frame limit; unused here, set for safety)
    cfg.video.source = "posepipe-chunk"
    cfg.video.output_dir = results_folder()
    print(f"phalp: building PHALP + HMR2 on {device} ({precision}, detector {settings.detector})",
          file=sys.stderr, flush=True)
    tracker = PosepipePHALP(cfg)
    tracker.eval()
    return tracker


RESULTS_PREFIX = "posepipe-phalp-"


def results_folder(base: str = "") -> str:
    """PHALP makes result folders under cfg.video.output_dir at construction (posepipe never asks it
    to write there). One folder per worker process, under the temp dir and named with its pid:
    removed when the worker exits, and a killed worker's (its pid no longer runs) at the next load."""
    base = base or tempfile.gettempdir()
    for name in os.listdir(base):
        match = re.fullmatch(re.escape(RESULTS_PREFIX) + r"(\d+)-\w+", name)
        if match and int(match.group(1)) != os.getpid() and not _running(int(match.group(1))):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    path = tempfile.mkdtemp(prefix=f"{RESULTS_PREFIX}{os.getpid()}-", dir=base)
    atexit.register(shutil.rmtree, path, True)
    return path


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
