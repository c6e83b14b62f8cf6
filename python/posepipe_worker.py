"""posepipe's tracker worker: `python3 posepipe_worker.py --backend NAME [--check]`.

Long-lived: loads the backend once, then reads JSON-line requests on stdin and writes JSON-line
events on stdout (see posepipe/protocol.py and src/tracker/protocol.ts); logs go to stderr.
`--models` prints the model files it needs (posepipe models pull). Exit codes: 0 stdin closed or
shutdown, 1 --check found a problem, 2 bad arguments or settings,
3 the backend could not be loaded (an error event says why).
"""

import os
import sys

# First thing, before any import can print: keep the real stdout for the protocol and send
# fd 1 (Python's print and C libraries alike) to stderr.
PROTOCOL_FD = os.dup(1)
os.dup2(2, 1)
os.set_inheritable(PROTOCOL_FD, False)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import argparse  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description="posepipe tracker worker (JSON lines on stdin/stdout)")
    parser.add_argument("--backend", default="builtin", help="backend name (default: builtin)")
    parser.add_argument("--check", action="store_true", help="check imports and loading, print JSON, exit")
    parser.add_argument("--models", action="store_true", help="print the model files the backend needs as JSON, exit")
    args = parser.parse_args()
    # Before the backend is imported: CUDA reads CUDA_VISIBLE_DEVICES once, at its first use.
    from posepipe import pinning
    pinning.pin(args.backend)
    from posepipe import worker
    if args.models:
        return worker.models(PROTOCOL_FD, args.backend)
    if args.check:
        return worker.check(PROTOCOL_FD, args.backend)
    return worker.serve(PROTOCOL_FD, args.backend)


if __name__ == "__main__":
    sys.exit(main())
