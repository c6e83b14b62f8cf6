"""The builtin backend at two frame sizes (issue 12): street-people.avi as it is (1280x720) and
downscaled to 320x180 (people about 30-80 px tall), each with and without the small-frame upscaling
(POSEPIPE_BUILTIN_MIN_PERSON). Prints frames/s of the backend's track() (its threads, as in the
pipeline), people found a frame (tracked rows / frames) and the share of frames with anyone.

Usage: /usr/bin/python3 bench/builtin_sizes.py [--video PATH]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import cv2  # noqa: E402

from posepipe.backends.builtin import BuiltinBackend  # noqa: E402


def frames_of(path):
    capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    out = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        out.append(frame)
    capture.release()
    return out


def run(frames, min_person):
    os.environ["POSEPIPE_BUILTIN_MIN_PERSON"] = str(min_person)
    backend = BuiltinBackend()
    backend.load()
    started = time.monotonic()
    frame, _track, _bbox, _score, _extras = backend.track(iter(frames))
    seconds = time.monotonic() - started
    rows = frame.tolist()
    return len(frames) / seconds, len(rows) / len(frames), len(set(rows)) / len(frames)


def main():
    parser = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--video", default=os.path.join(here, "..", "..", "shared", "fixtures", "street-people.avi"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small = os.path.join(tmp, "street-320x180.mp4")
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", args.video, "-vf", "scale=320:180",
                        "-c:v", "libx264", "-crf", "18", "-pix_fmt", "yuv420p", small], check=True)
        sizes = [("1280x720", frames_of(args.video)), ("320x180", frames_of(small))]
    print(f"builtin backend, {os.cpu_count()} CPU(s), {len(sizes[0][1])} frames of {os.path.basename(args.video)}")
    print("     size  upscaling      frames/s  people a frame  frames with people")
    for label, frames in sizes:
        for min_person, how in ((0, "off"), (48, "48 px")):
            fps, per_frame, share = run(frames, min_person)
            print(f"{label:>9}  {how:>9}  {fps:12.1f}  {per_frame:14.2f}  {share:17.0%}")


if __name__ == "__main__":
    main()
