"""Keypoints backend benchmark (issue 5): frames/s by batch size and precision, peak GPU memory by
chunk length, and the out-of-memory path, on chunks of ../shared/fixtures/street-people.avi with
random weights (speed and memory do not depend on the weights' values).

Random weights score every box about 0.3, so the bench keeps every box (min score 0) and at most
--max-persons per frame: the keypoint head then runs on as many persons as a busy street has.
Speed and memory are measured in this process through the backend's own track() and the worker's
own decoder (posepipe.video.ChunkFrames); the out-of-memory path runs the real worker process.

  /usr/bin/python3 bench/keypoints_gpu.py            on a GPU machine (a few minutes)
  /usr/bin/python3 bench/keypoints_gpu.py --tiny     anywhere: tiny settings on the CPU (slow, checks the script)
  options: --batches 1,2,4,8,16 --precisions fp32,bf16,fp16 --frames 100 --lengths 50,205,410,820
           --size 800 --proposals 1000 --max-persons 20 --json PATH --video street-people.avi
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
STREET = os.path.normpath(os.path.join(ROOT, "..", "shared", "fixtures", "street-people.avi"))
STREET_FRAMES = 205
VIDEO = [STREET]  # --video: ../shared does not travel to a device machine; carry a copy and name it

import torch  # noqa: E402

from posepipe.backends.keypoints import KeypointsBackend  # noqa: E402
from posepipe.video import ChunkFrames  # noqa: E402

MB = 2 ** 20


def inputs(frames: int) -> List[Dict[str, Any]]:
    """A chunk of `frames` frames: the street clip repeated as often as needed (one input per pass)."""
    out = []
    while frames > 0:
        take = min(frames, STREET_FRAMES)
        out.append({"path": VIDEO[0], "start": 0, "count": take})
        frames -= take
    return out


def settings_env(args: argparse.Namespace, precision: str, batch: int, fraction: Optional[float] = None) -> Dict[str, str]:
    env = {"POSEPIPE_KEYPOINTS_WEIGHTS": "random", "POSEPIPE_KEYPOINTS_DEVICE": args.device,
           "POSEPIPE_KEYPOINTS_PRECISION": precision, "POSEPIPE_KEYPOINTS_BATCH": str(batch),
           "POSEPIPE_KEYPOINTS_MIN_SCORE": "0", "POSEPIPE_KEYPOINTS_MAX_PERSONS": str(args.max_persons),
           "POSEPIPE_KEYPOINTS_SIZE": str(args.size), "POSEPIPE_KEYPOINTS_PROPOSALS": str(args.proposals)}
    if fraction is not None:
        env["POSEPIPE_KEYPOINTS_MEMORY_FRACTION"] = f"{fraction:.4f}"
    return env


def load(args: argparse.Namespace, precision: str, batch: int) -> KeypointsBackend:
    os.environ.update(settings_env(args, precision, batch))
    backend = KeypointsBackend()
    backend.load()
    return backend


def run_chunk(backend: KeypointsBackend, frames: int) -> Tuple[float, int, int, int]:
    """(seconds, detections, peak allocated MB, peak reserved MB) for one chunk of `frames` frames."""
    cuda = backend.device.startswith("cuda")
    backend.release()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    started = time.perf_counter()
    source = ChunkFrames(inputs(frames), frames, lambda n: None)
    rows = backend.track(iter(source))
    source.finish()
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    peak = (torch.cuda.max_memory_allocated() // MB, torch.cuda.max_memory_reserved() // MB) if cuda else (0, 0)
    return seconds, len(rows[0]), peak[0], peak[1]


def throughput(args: argparse.Namespace, report: Dict[str, Any]) -> None:
    print(f"\n== frames/s by precision and batch ({args.frames}-frame chunks, decode + model + tracking, "
          f"{args.max_persons} persons/frame, size {args.size}) ==")
    print(f"{'precision':<10}{'batch':>6}{'frames/s':>10}{'peak alloc MB':>15}{'peak reserved MB':>18}")
    for precision in args.precisions:
        try:
            backend = load(args, precision, 1)
        except Exception as e:  # noqa: B902  e.g. fp16 on the CPU: say so and go on
            print(f"{precision:<10}  skipped: {e}")
            continue
        if backend.device.startswith("cuda") and backend.precision == report["autoPrecision"]:
            report["modelMb"] = torch.cuda.memory_allocated() // MB  # the weights: what no fraction can go below
        run_chunk(backend, min(2, args.frames))  # warm-up: first-call allocations and kernel loading
        for batch in args.batches:
            backend.batches.cap = batch
            seconds, _, alloc, reserved = run_chunk(backend, args.frames)
            fps = args.frames / seconds
            report["throughput"].append({"precision": backend.precision, "batch": batch, "fps": round(fps, 2),
                                         "peakAllocatedMb": alloc, "peakReservedMb": reserved})
            print(f"{backend.precision:<10}{batch:>6}{fps:>10.2f}{alloc:>15}{reserved:>18}", flush=True)
        del backend
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def memory_by_length(args: argparse.Namespace, report: Dict[str, Any]) -> None:
    batch = args.batches[-1] if args.device == "cpu" else 8
    backend = load(args, "auto", batch)
    print(f"\n== peak GPU memory by chunk length ({backend.precision}, batch {batch}) ==")
    print(f"{'frames':>8}{'seconds':>9}{'detections':>12}{'peak alloc MB':>15}{'peak reserved MB':>18}")
    for frames in args.lengths:
        seconds, detections, alloc, reserved = run_chunk(backend, frames)
        report["memoryByLength"].append({"frames": frames, "peakAllocatedMb": alloc, "peakReservedMb": reserved})
        print(f"{frames:>8}{seconds:>9.1f}{detections:>12}{alloc:>15}{reserved:>18}", flush=True)
    allocs = [r["peakAllocatedMb"] for r in report["memoryByLength"]]
    print(f"growth from shortest to longest chunk: {allocs[-1] - allocs[0]} MB allocated")


class Worker:
    """The real worker process (posepipe_worker.py --backend keypoints), driven over JSON lines."""

    def __init__(self, env: Dict[str, str]) -> None:
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "python", "posepipe_worker.py"), "--backend", "keypoints"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     env={**os.environ, **env})
        self.ready = self.event()

    def event(self, types: Tuple[str, ...] = ("ready", "done", "error")) -> Dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            e = json.loads(line)
            if e["type"] in types:
                return e
        return {"type": "exit", "code": self.proc.wait()}

    def track(self, request_id: str, frames: int, output: str) -> Dict[str, Any]:
        assert self.proc.stdin is not None
        request = {"type": "track", "id": request_id, "inputs": inputs(frames), "firstFrame": 0, "frameCount": frames, "output": output}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self.event(("done", "error"))

    def cap_lines(self) -> List[str]:
        self.log.seek(0)
        return [line.strip() for line in self.log if line.startswith("keypoints: out of memory")]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def out_of_memory(args: argparse.Namespace, report: Dict[str, Any]) -> None:
    print("\n== out of memory (the real worker, a forced memory fraction) ==")
    if args.device == "cpu" or not torch.cuda.is_available():
        print("no CUDA: memory fractions limit GPU memory only; checking the worker plumbing instead")
        with tempfile.TemporaryDirectory(prefix="posepipe-kp-worker-") as folder:
            worker = Worker(settings_env(args, "auto", max(args.batches)))
            print(f"   ready: {json.dumps(worker.ready)}")
            print(f"   chunk: {json.dumps(worker.track('cpu-1', args.lengths[0], os.path.join(folder, '1.pkl')))}")
            worker.close()
        return
    big = max(args.batches)
    peaks = {r["batch"]: r["peakReservedMb"] for r in report["throughput"] if r["precision"] == report["autoPrecision"]}
    total, model = torch.cuda.mem_get_info()[1] // MB, report["modelMb"]
    if 2 not in peaks or big not in peaks or 1 not in peaks:
        print("skipped: needs batches 1, 2 and the largest measured at the auto precision")
        return
    # Room for batch 2 but not for the largest batch; then room for the model but not for one frame.
    cases = (("batch cap falls, chunk completes", (peaks[2] + min(peaks.get(4, peaks[big]), peaks[big])) / 2),
             ("a single frame does not fit", model + (peaks[1] - model) * 0.3))
    for label, limit_mb in cases:
        fraction = limit_mb / total
        with tempfile.TemporaryDirectory(prefix="posepipe-kp-oom-") as folder:
            worker = Worker(settings_env(args, "auto", big, fraction))
            print(f"-- {label}: memory fraction {fraction:.4f} ({limit_mb:.0f} MB of {total} MB; model {model} MB), starting batch {big}")
            print(f"   ready: {json.dumps(worker.ready)}")
            if worker.ready["type"] != "ready":
                print("   the worker did not start")
                report["outOfMemory"].append({"case": label, "fraction": round(fraction, 4), "ready": worker.ready})
                continue
            first = worker.track("oom-1", args.oom_frames, os.path.join(folder, "1.pkl"))
            lines = worker.cap_lines()
            for line in lines:
                print(f"   worker: {line}")
            print(f"   first chunk ({args.oom_frames} frames): {json.dumps(first)}")
            entry: Dict[str, Any] = {"case": label, "fraction": round(fraction, 4), "capLines": lines, "first": first}
            if first["type"] == "done":
                second = worker.track("oom-2", args.oom_frames, os.path.join(folder, "2.pkl"))
                again = worker.cap_lines()[len(lines):]
                print(f"   second chunk: {second['type']}, new out-of-memory lines: {len(again)} (the cap is kept)")
                entry["second"], entry["newCapLines"] = second["type"], len(again)
            else:
                print("   -> kind oom: posepipe restarts the worker and tracks the chunk in two halves")
            report["outOfMemory"].append(entry)
            worker.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="CPU, tiny model settings, few frames: checks the script anywhere")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batches", default="1,2,4,8,16")
    parser.add_argument("--precisions", default="fp32,bf16,fp16")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--lengths", default="50,205,410,820")
    parser.add_argument("--size", type=int, default=800)
    parser.add_argument("--proposals", type=int, default=1000)
    parser.add_argument("--max-persons", type=int, default=20)
    parser.add_argument("--oom-frames", type=int, default=40)
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--video", default=STREET, help="street-people.avi, where it is (default ../shared/fixtures)")
    args = parser.parse_args()
    if not os.path.isfile(args.video):
        parser.error(f"no video at {args.video}: copy ../shared/fixtures/street-people.avi there or pass --video")
    VIDEO[0] = os.path.abspath(args.video)
    if args.tiny:
        args.device, args.size, args.proposals, args.max_persons = "cpu", 64, 20, 2
        args.batches, args.precisions, args.frames, args.lengths = "1,2", "fp32,bf16,fp16", 4, "2,6"
    args.batches = [int(b) for b in args.batches.split(",")]
    args.precisions = args.precisions.split(",")
    args.lengths = [int(n) for n in args.lengths.split(",")]
    cuda = torch.cuda.is_available() and args.device != "cpu"
    device = f"{torch.cuda.get_device_name(0)}, {torch.cuda.mem_get_info()[1] // MB} MB" if cuda else "cpu"
    print(f"keypoints bench: torch {torch.__version__}, {device}, {os.path.basename(VIDEO[0])} 1280x720")
    auto = "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    report: Dict[str, Any] = {"device": device, "autoPrecision": auto, "modelMb": 0, "throughput": [], "memoryByLength": [], "outOfMemory": []}
    throughput(args, report)
    memory_by_length(args, report)
    out_of_memory(args, report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
