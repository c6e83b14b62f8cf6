"""Running items through a model in batches under a cap that falls when the device runs out of memory.

Shared by the GPU backends (keypoints: frames; phalp: person crops); each subclass says what its
log line and its final error say. Kept apart from torch (the caller passes the forward pass and
the cache-emptying function) so the whole out-of-memory path can be tested on a machine where
memory never runs out.
"""

import sys
from typing import Any, Callable, List, Optional, Sequence

from ..errors import is_oom


class BatchCap:
    """The most items one forward pass may take; halved on out-of-memory, kept across requests.

    run() passes items to `forward` at most `cap` at a time. When a pass runs out of memory it
    empties the device cache, halves the cap (from the size of the pass that failed), logs one line
    and retries the same items; a pass of one item that still runs out raises MemoryError, which
    the worker reports as kind "oom" so that posepipe restarts it and splits the chunk.
    """

    def __init__(self, cap: int, empty_cache: Callable[[], None], log: Optional[Callable[[str], None]] = None) -> None:
        if cap < 1:
            raise ValueError(f"batch cap must be at least 1, not {cap}")
        self.cap = cap
        self._empty_cache = empty_cache
        self._log = log or _to_stderr

    def lowered(self, size: int) -> str:
        """The log line after a pass of `size` items ran out of memory and the cap fell."""
        return f"out of memory at batch {size}; batch cap now {self.cap}"

    def single(self, detail: str) -> str:
        """The MemoryError's message when one item alone does not fit."""
        return f"out of memory on a single item: {detail}"

    def run(self, items: Sequence[Any], forward: Callable[[Sequence[Any]], List[Any]]) -> List[Any]:
        """forward() over all `items`, in order, one result per item."""
        results: List[Any] = []
        start = 0
        while start < len(items):
            size = min(self.cap, len(items) - start)
            out_of_memory = False
            try:
                results.extend(forward(items[start:start + size]))
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
                    raise MemoryError(self.single(detail))
                self.cap = max(1, size // 2)
                self._log(self.lowered(size))
        return results


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
