"""Running frames through the model in batches under a cap that falls when the device runs out of memory.

Kept apart from torch (the caller passes the forward pass and the cache-emptying function) so the
whole out-of-memory path can be tested on a machine where memory never runs out.
"""

import sys
from typing import Any, Callable, List, Sequence


def is_oom(error: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError (torch >= 1.13), or the RuntimeError older torch and cuDNN raise."""
    if type(error).__name__ == "OutOfMemoryError":
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


class BatchCap:
    """The most frames one forward pass may take; halved on out-of-memory, kept across requests.

    run() passes frames to `forward` at most `cap` at a time. When a pass runs out of memory it
    empties the device cache, halves the cap (from the size of the pass that failed), logs one line
    and retries the same frames; a pass of one frame that still runs out raises MemoryError, which
    the worker reports as kind "oom" so that posepipe restarts it and splits the chunk.
    """

    def __init__(self, cap: int, empty_cache: Callable[[], None], describe: Callable[[], str],
                 log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True)) -> None:
        if cap < 1:
            raise ValueError(f"batch cap must be at least 1, not {cap}")
        self.cap = cap
        self._empty_cache = empty_cache
        self._describe = describe  # e.g. "cuda:0, 512 MB free": what the MemoryError message adds
        self._log = log

    def run(self, frames: Sequence[Any], forward: Callable[[Sequence[Any]], List[Any]]) -> List[Any]:
        """forward() over all `frames`, in order, one result per frame."""
        results: List[Any] = []
        start = 0
        while start < len(frames):
            size = min(self.cap, len(frames) - start)
            out_of_memory = False
            try:
                results.extend(forward(frames[start:start + size]))
                start += size
                continue
            except Exception as e:  # noqa: B902  only memory errors are ours; the rest go up unchanged
                if not is_oom(e):
                    raise
                out_of_memory = True
                detail = str(e).splitlines()[0] if str(e) else type(e).__name__
            # Outside the except block: the exception's traceback (and every tensor its frames hold)
            # is gone, so emptying the cache can actually give that memory back.
            if out_of_memory:
                self._empty_cache()
                if size == 1:
                    raise MemoryError(f"keypoints: out of memory on a single frame ({self._describe()}): {detail}")
                self.cap = max(1, size // 2)
                self._log(f"keypoints: out of memory at batch {size}; batch cap now {self.cap}")
        return results
