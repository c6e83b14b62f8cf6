"""The keypoints backend: torchvision's Keypoint R-CNN (ResNet-50 FPN, COCO) plus the SORT tracker.

Each person gets a box, a score and 17 COCO keypoints, tracked by builtin's tracker
(posepipe/sort.py) without its weak detections and appearance cue. Runs on the GPU when torch
sees one, on the CPU otherwise (seconds per frame there). Needs torch and torchvision
(python/requirements-keypoints.txt).
Configuration, read from the environment once at load(); a bad value is an `environment` error
naming the variable:

  POSEPIPE_KEYPOINTS_WEIGHTS   a Keypoint R-CNN state-dict .pth file. Unset: torchvision's own cache
                               file, <torch hub dir>/checkpoints/keypointrcnn_resnet50_fpn_coco-fc266e95.pth
                               (TORCH_HOME moves it), downloaded there on first use where the internet
                               is reachable (15 s connect/read timeout); with neither, load() fails
                               naming that exact path. `random`: seeded random init, for benchmarks
                               only (the version says so)
  POSEPIPE_KEYPOINTS_DEVICE    auto (cuda:0 if present, else cpu), cpu, cuda or cuda:N (default auto)
  POSEPIPE_KEYPOINTS_BATCH     frames per forward pass to start with, the batch cap (default 8 on
                               CUDA, 1 on the CPU)
  POSEPIPE_KEYPOINTS_PRECISION auto, fp32, bf16 or fp16 (default auto: bf16 on a GPU that supports
                               it, else fp32). Reduced precision is autocast over the convolutions
                               and linear layers only; the heads' outputs are cast back to fp32, so
                               box decoding, NMS and keypoint decoding stay fp32. fp16 needs CUDA;
                               bf16 also runs on the CPU when asked for (never chosen by auto)
  POSEPIPE_KEYPOINTS_MIN_SCORE persons below this detection score are dropped before the keypoint
                               head runs (default 0.5)
  POSEPIPE_KEYPOINTS_MAX_PERSONS  at most this many persons per frame (default 100, torchvision's)
  POSEPIPE_KEYPOINTS_SIZE      short side frames are scaled to inside the model, long side at most
                               1333/800 of it (default 800, the COCO training size); results are
                               always in pixels of the frames as decoded
  POSEPIPE_KEYPOINTS_PROPOSALS region proposals per frame kept for the box head (default 1000,
                               torchvision's; lower is faster, mainly on the CPU)
  POSEPIPE_KEYPOINTS_MEMORY_FRACTION  0..1: torch.cuda.set_per_process_memory_fraction, a cap on the
                               memory this process may take on its GPU (sharing a GPU; forcing
                               out-of-memory in bench/keypoints_gpu.py)
  POSEPIPE_KEYPOINTS_IOU, _MAX_AGE, _MIN_HITS  the tracker, as POSEPIPE_BUILTIN_* (0.2, 12, 3)

Output, per person row: bbox (x, y, w, h) and score from the detector, and the extra
`keypoints2d`, float32 (17, 3) in COCO order (nose, eyes, ears, shoulders, elbows, wrists, hips,
knees, ankles; left before right): x, y in pixels and the keypoint's score, torchvision's
`keypoints_scores` (the peak of the keypoint's heatmap logits: above 0 roughly means visible;
not a probability).

Memory: frames go through the model `batch cap` at a time and every result leaves the GPU at
once, so device memory depends on the batch and the frame size, never on the chunk's length. On
out-of-memory (torch.cuda.OutOfMemoryError, or a RuntimeError saying "out of memory") the cache
is emptied, the cap halved, one line logged ("keypoints: out of memory at batch 8; batch cap now
4") and the same frames retried; the cap that worked is kept for later requests. A single frame
that does not fit raises MemoryError: the worker reports kind `oom`, and posepipe restarts it and
splits the chunk. Between requests release() empties torch's CUDA cache.

Determinism: on the CPU, torch.use_deterministic_algorithms(True) makes the output a pure function
of the frames, the batch cap and the machine's torch thread count (a different cap or thread
count may change the last bits of the floats, and so rarely a tracking decision). On CUDA cuDNN may pick different
algorithms from run to run, so the last bits may vary; nothing is made deterministic there at the
cost of speed.
"""

import os
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from ..errors import EnvironmentProblem
from . import keypoints_model as km
from .batch_cap import BatchCap
from .keypoints_config import PREFIX, RANDOM, Settings, read_settings, resolve_device, resolve_precision, starting_batch

VERSION = "1.0.1"


class FrameCap(BatchCap):
    """Frames per Keypoint R-CNN pass; the out-of-memory error names the device and its free memory."""

    def __init__(self, cap: int, empty_cache: Callable[[], None], describe: Callable[[], str],
                 log: Optional[Callable[[str], None]] = None) -> None:
        super().__init__(cap, empty_cache, log)
        self._describe = describe  # e.g. "cuda:0, 512 MB free of 80 GB"

    def lowered(self, size: int) -> str:
        return f"keypoints: out of memory at batch {size}; batch cap now {self.cap}"

    def single(self, detail: str) -> str:
        return f"keypoints: out of memory on a single frame ({self._describe()}): {detail}"


class KeypointsBackend:
    """Keypoint R-CNN detection in batches under an out-of-memory-aware cap, then SORT association."""

    name = "keypoints"

    def __init__(self) -> None:
        self.version = VERSION
        self.device = "cpu"
        self.precision = "fp32"
        self._beat: Callable[[], None] = lambda: None

    def model_files(self) -> Dict[str, Any]:
        """What `posepipe models pull --tracker keypoints` fetches: the COCO weights into torch's cache,
        unless POSEPIPE_KEYPOINTS_WEIGHTS names a file of the user's own (or random)."""
        from .torch_device import torch_hub_dir
        settings = read_settings(os.environ)
        if settings.weights == RANDOM:
            return {"files": [], "manual": []}
        if settings.weights is not None:
            return {"files": [], "manual": [{"name": os.path.basename(settings.weights) or settings.weights,
                                             "dest": os.path.abspath(settings.weights),
                                             "how": f"{PREFIX}WEIGHTS names this Keypoint R-CNN state-dict file of your own"}]}
        name = os.path.basename(km.COCO_URL)
        # torch.hub's name-<sha256 prefix>.pth convention, which torch checks for this download too.
        return {"files": [{"name": name, "url": km.COCO_URL, "dest": km.cache_path(torch_hub_dir()),
                           "sha256Prefix": name.rsplit("-", 1)[1].split(".")[0]}], "manual": []}

    def checks(self) -> List[Dict[str, Any]]:
        out: List[Dict[str, Any]] = []
        try:
            import torch
            import torchvision
        except ImportError as e:
            return [{"name": "torch", "ok": False, "detail": f"cannot import {e.name}: {e}",
                     "fix": "pip install -r python/requirements-keypoints.txt (or apt install python3-torchvision)"}]
        out.append({"name": "torch", "ok": True, "detail": f"torch {torch.__version__}, torchvision {torchvision.__version__}"})
        try:
            settings = read_settings(os.environ)
        except EnvironmentProblem as e:
            return out + [{"name": "keypoints settings", "ok": False, "detail": str(e), "fix": "correct or unset that variable"}]
        try:
            device = resolve_device(settings.device, torch.cuda.device_count(), torch.__version__)
            out.append({"name": "keypoints device", "ok": True, "detail": _describe_device(torch, device)})
        except EnvironmentProblem as e:
            out.append({"name": "keypoints device", "ok": False, "detail": str(e), "fix": f"set {PREFIX}DEVICE=auto or cpu"})
        out.append(_weights_check(settings, torch.hub.get_dir()))
        return out

    def load(self) -> None:
        import numpy
        import torch
        import torchvision
        settings = read_settings(os.environ)
        device = resolve_device(settings.device, torch.cuda.device_count(), torch.__version__)
        on_cuda = device.startswith("cuda")
        precision = resolve_precision(settings.precision, device, on_cuda and torch.cuda.is_bf16_supported())
        weights, label = km.find_weights(settings.weights, torch.hub.get_dir())
        if on_cuda:
            torch.backends.cudnn.benchmark = False  # no per-shape autotuning: steady memory, repeatable picks
            if settings.memory_fraction is not None:
                torch.cuda.set_per_process_memory_fraction(settings.memory_fraction, torch.device(device))
        else:
            torch.use_deterministic_algorithms(True)
        model = km.build_model(settings, weights)
        km.add_hooks(model, lambda: self._beat())
        self._np, self._torch = numpy, torch
        self.settings: Settings = settings
        self.model = model.to(device)
        self.device, self.precision = device, precision
        self.batches = FrameCap(starting_batch(settings.batch, device), self._empty_cache, self._memory_text)
        self.version = f"{VERSION} (torchvision {torchvision.__version__}, weights {label}, {precision})"
        if on_cuda:
            self.device = f"{device} ({torch.cuda.get_device_name(torch.device(device))})"

    def ready_info(self) -> Dict[str, Any]:
        info: Dict[str, Any] = {"precision": self.precision, "batch": self.batches.cap}
        free, total = self._memory()
        if total:
            info.update(memoryTotalMb=total, memoryFreeMb=free)
        return info

    def release(self) -> None:
        self._empty_cache()

    def track(self, frames: Iterable[Any]) -> Tuple[Any, Any, Any, Any, Dict[str, Any]]:
        from ..sort import Sort
        s = self.settings
        tracker = Sort(s.iou, s.max_age, s.min_hits)
        found: Dict[Tuple[int, bytes, bytes], List[Any]] = {}
        beat = getattr(frames, "heartbeat", None)
        self._beat = beat if callable(beat) else (lambda: None)
        pending: List[Any] = []
        first = [0]  # index of pending[0] in the request

        def flush() -> None:
            for offset, output in enumerate(self.batches.run(pending, self._forward)):
                index = first[0] + offset
                boxes, scores, keypoints = km.detections(output, s.min_score)
                for box, score, points in zip(boxes, scores, keypoints):
                    found.setdefault(km.row_key(index, box, score), []).append(points)
                tracker.step(index, boxes, scores)
            first[0] += len(pending)
            pending.clear()

        try:
            for frame in frames:
                pending.append(frame)
                if len(pending) >= self.batches.cap:
                    flush()
            if pending:
                flush()
        finally:
            self._beat = lambda: None
        frame_idx, track, bbox, score = tracker.rows()
        return frame_idx, track, bbox, score, {"keypoints2d": km.keypoints_for_rows(frame_idx, bbox, score, found)}

    def _forward(self, frames: List[Any]) -> List[Dict[str, Any]]:
        self._beat()
        return km.forward(self.model, self.device.split(" ")[0], self.precision, frames)

    def _memory(self) -> Tuple[int, int]:
        """(free, total) MB on the CUDA device; (0, 0) on the CPU."""
        if not self.device.startswith("cuda"):
            return 0, 0
        free, total = self._torch.cuda.mem_get_info(self._torch.device(self.device.split(" ")[0]))
        return free // 2**20, total // 2**20

    def _memory_text(self) -> str:
        free, total = self._memory()
        return f"{self.device}, {free} MB free of {total} MB" if total else self.device

    def _empty_cache(self) -> None:
        if self.device.startswith("cuda"):
            self._torch.cuda.empty_cache()


def _describe_device(torch: Any, device: str) -> str:
    if device == "cpu":
        return "cpu" + ("" if torch.cuda.is_available() else ": no CUDA") + f", torch threads: {torch.get_num_threads()}"
    free, total = torch.cuda.mem_get_info(torch.device(device))
    bf16 = "bf16" if torch.cuda.is_bf16_supported() else "no bf16"
    return f"{device} {torch.cuda.get_device_name(torch.device(device))}, {free // 2**20} MB free of {total // 2**20} MB, {bf16}"


def _weights_check(settings: Settings, hub_dir: str) -> Dict[str, Any]:
    name = "keypoints weights"
    if settings.weights == RANDOM:
        return {"name": name, "ok": True, "detail": f"{PREFIX}WEIGHTS=random: random init, for benchmarks only"}
    if settings.weights is not None:
        ok = os.path.isfile(settings.weights)
        check: Dict[str, Any] = {"name": name, "ok": ok, "detail": settings.weights if ok else f"{PREFIX}WEIGHTS={settings.weights!r}: no such file"}
        if not ok:
            check["fix"] = f"point {PREFIX}WEIGHTS at a Keypoint R-CNN state-dict .pth, or unset it to use {km.cache_path(hub_dir)}"
        return check
    path = km.cache_path(hub_dir)
    if os.path.isfile(path):
        return {"name": name, "ok": True, "detail": path}
    # The doctor never fetches it (nor does its load check: worker.check skips load without it).
    return {"name": name, "ok": False, "detail": f"missing: {path}",
            "fix": f"posepipe models pull --tracker keypoints (or download {km.COCO_URL} to {path}, "
                   f"or set {PREFIX}WEIGHTS to a state-dict .pth file)"}
