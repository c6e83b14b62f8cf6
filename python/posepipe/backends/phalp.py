"""The phalp backend: 4D-Humans (HMR2 mesh recovery + the PHALP tracker) served chunk after chunk.

Runs inside the user's own 4D-Humans venv (POSEPIPE_PYTHON points at its python). load() imports
torch, hmr2 and phalp there and builds the whole tracker once (phalp_model.py); every request of
every job reuses it. track.py and PHALP.track() are never called: phalp_loop.py drives the loop
itself, taking frames only from the worker's iterator (no JPEG folders, no rm -rf, no 1300-frame
limit, no shot detection), so every exception reaches the worker and becomes an error event of the
right kind. Rendering is off and no renderer is built: not PHALP's visualizer, and HMR2 without
its mesh renderer, so the process opens no OpenGL context (phalp_gl.py says why OpenGL must still
load).

Configuration, read from the environment once at load() (a bad value is an environment error
naming the variable):

  POSEPIPE_PHALP_BATCH          most person crops per HMR2 batch, gathered across frames (default
                                16). An out-of-memory error halves it for the rest of the process
                                and retries; at 1 the chunk fails with kind "oom" and posepipe
                                splits it
  POSEPIPE_PHALP_PRECISION      auto | fp32 | bf16 | fp16: autocast for HMR2's forward. fp32 runs
                                HMR2 numerically as stock 4D-Humans track.py does (no autocast);
                                auto is bf16 on a GPU that supports it (several times the crops per
                                second), else fp32; fp16 needs a GPU. The output's tracker section
                                names the precision used
  POSEPIPE_PHALP_LOW_MEMORY     1: the RegNetY Mask R-CNN detector (~5.2 GB in all) instead of
                                ViTDet-H (~9.5 GB). Use it on 8 GB GPUs
  POSEPIPE_PHALP_DEVICE         auto | cuda | cuda:N (default auto: the first GPU). The worker
                                sees that GPU alone (posepipe/pinning.py). PHALP needs CUDA: cpu
                                (or auto without a GPU) is refused with an environment error; only
                                posepipe's own stand-ins (python/tests/stand_ins) run on the CPU
  POSEPIPE_PHALP_FRAMES_WINDOW  most frames gathered before a batch runs even if it is not full
                                (default 32; bounds the crops held in memory)

Rows: one per person per frame where the tracker matched a detection to a confirmed track (plus
PHALP's back-fill of the frames that confirmed it); its "ghost" entries are never written. Track
ids restart at 1 for every request. bbox is the detector's box (x, y, w, h) in image pixels;
score its confidence. Extras, float32, M rows:

  keypoints2d         (M, 45, 2) PHALP's 45 points from HMR2's SMPL in image pixels: OpenPose 25,
                      19 extra joints, and last the SMPL model origin (PHALP's location cue)
  joints3d            (M, 45, 3) the same points in 3D, metres, camera axes, relative to the SMPL
                      model origin (row 44 is that origin: zeros); add camera_translation for
                      camera coordinates
  smpl_global_orient  (M, 1, 3, 3) rotation matrices
  smpl_body_pose      (M, 23, 3, 3) rotation matrices
  smpl_betas          (M, 10)
  camera_translation  (M, 3) translation of the body in the camera frame, for a pinhole camera with
                      focal length `focal_length` and principal point at the image centre
  focal_length        (M,) that focal length in image pixels: PHALP's 5000 on a 256 px square
                      covering the padded frame, so 5000 * max(height, width) / 256
"""

import os
import sys
from types import SimpleNamespace
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ..errors import EnvironmentProblem
from . import phalp_gl
from .phalp_config import TORCH_ENV_TRUE, PhalpSettings, read_settings, resolve_device, resolve_precision

VERSION = "1.0.0"


class PhalpBackend:
    """4D-Humans' HMR2 + PHALP, models built once, the per-frame loop driven by posepipe."""

    name = "phalp"

    def __init__(self) -> None:
        self.version = VERSION
        self.device = "cuda"
        self.settings: Optional[PhalpSettings] = None
        self.precision = "fp32"

    def checks(self) -> List[Dict[str, Any]]:
        from .phalp_doctor import run_checks
        return run_checks()

    def model_files(self) -> Dict[str, Any]:
        """What `posepipe models pull` fetches and the doctor checks (phalp_files.py)."""
        from .phalp_files import manifest
        return manifest(read_settings().detector)

    def load(self) -> None:
        settings = read_settings()
        gl_platform = self._prepare_environment()
        import torch
        from phalp.external.deep_sort_.detection import Detection
        from phalp.utils.utils import smpl_to_pose_camera_vector
        from .phalp_loop import CropCap
        from .phalp_model import build_tracker
        self.device = resolve_device(torch, settings.device)
        refuse_cpu(self.device, settings.device)
        self.precision = resolve_precision(torch, self.device, settings.precision)
        self.settings = settings
        self._tracker = build_tracker(settings, self.device, self.precision, gl_platform)
        self._api = SimpleNamespace(torch=torch, Detection=Detection,
                                    smpl_to_pose_camera_vector=smpl_to_pose_camera_vector)
        self.cap = CropCap(settings.batch, lambda: torch.cuda.empty_cache() if torch.cuda.is_available() else None)
        hmr2_version = _version("hmr2")
        self.version = f"{VERSION} (hmr2 {hmr2_version}, phalp {_version('phalp')}, torch {torch.__version__})"

    @staticmethod
    def _prepare_environment() -> str:
        """Before phalp is imported: the OpenGL platform (phalp_gl.py) and torch's weights_only."""
        # torch >= 2.6 loads checkpoints with weights_only=True, which PHALP's and HMR2's own
        # (trusted, user-downloaded) checkpoints do not pass; the <2.6 behaviour is asked for. torch
        # reads the variable at every torch.load that does not pass weights_only itself, and raises if
        # TORCH_FORCE_WEIGHTS_ONLY_LOAD is set too.
        if os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "") in TORCH_ENV_TRUE:
            raise EnvironmentProblem("TORCH_FORCE_WEIGHTS_ONLY_LOAD is set: PHALP's and HMR2's checkpoints "
                                     "cannot load with weights_only; unset it for posepipe")
        os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"
        return phalp_gl.prepare()

    def ready_info(self) -> Dict[str, Any]:
        info: Dict[str, Any] = {"precision": self.precision, "batch": self.cap.cap}
        torch = self._api.torch
        if self.device.startswith("cuda"):
            free, total = torch.cuda.mem_get_info()
            info.update(memoryFreeMb=int(free // 2**20), memoryTotalMb=int(total // 2**20))
        return info

    def track(self, frames: Iterable[Any]) -> Tuple[Any, Any, Any, Any, Dict[str, Any]]:
        from .phalp_loop import ChunkLoop
        assert self.settings is not None, "load() first"
        loop = ChunkLoop(self._tracker, self._api, self.cap, self.settings.frames_window)
        return loop.run(frames)

    def release(self) -> None:
        """Drop the finished chunk's tracker state and give cached GPU memory back between requests."""
        tracker = getattr(self, "_tracker", None)
        if tracker is not None:
            tracker.tracker = None
        torch = sys.modules.get("torch")
        if torch is not None and self.device.startswith("cuda") and torch.cuda.is_available():
            torch.cuda.empty_cache()


def refuse_cpu(device: str, wanted: str) -> None:
    """PHALP runs on CUDA only: its detectors and tracker call .cuda(), detectron2 defaults to cuda.
    A real install on the CPU would fail deep inside PHALP with a raw torch error; say why at once."""
    if device != "cpu":
        return
    import phalp
    if getattr(phalp, "POSEPIPE_STAND_IN", False):
        return  # posepipe's CPU test doubles (python/tests/stand_ins)
    why = ("POSEPIPE_PHALP_DEVICE=cpu" if wanted == "cpu"
           else "no CUDA device is visible to torch (POSEPIPE_PHALP_DEVICE=auto)")
    raise EnvironmentProblem(f"{why}, but PHALP needs a CUDA GPU: its detectors and tracker call .cuda() and "
                             "detectron2 runs on cuda. Run the phalp backend on a machine with an NVIDIA GPU and a "
                             "CUDA build of torch, or use --tracker keypoints or builtin on the CPU")


def _version(module: str) -> str:
    try:
        from importlib.metadata import version
        return version(module)
    except Exception:
        mod = sys.modules.get(module)
        return str(getattr(mod, "__version__", "?"))
