"""Exceptions that map to the protocol's error kinds, so the worker classifies failures in one place."""

import errno


class InputError(Exception):
    """The request's inputs are bad (missing, undecodable, wrong frame count): the chunk fails, no retry."""


class EnvironmentProblem(Exception):
    """The machine is not set up for this backend (import error, missing weights): run posepipe doctor."""


class BackendError(Exception):
    """The backend returned something unusable (columns of different lengths, frames outside the
    chunk): its fault, reported as kind "tracker" like an exception it raised itself."""


class RequestError(Exception):
    """A request line we cannot understand: reported as kind "internal", quoting the line."""


def kind_of(error: BaseException, in_backend: bool = False) -> str:
    """The protocol kind for an exception raised while serving a request. `in_backend`: it came out
    of the backend's own code (load or track), so an unclassified one is the backend's error
    ("tracker"), not posepipe's bug ("internal"); an exception posepipe's frame reader raised on the
    backend's behalf is marked `posepipe_own` and stays posepipe's."""
    if isinstance(error, InputError):
        return "input"
    if isinstance(error, (EnvironmentProblem, ImportError)):
        return "environment"
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk"
    if is_oom(error):
        return "oom"
    if isinstance(error, BackendError) or (in_backend and not getattr(error, "posepipe_own", False)):
        return "tracker"
    return "internal"


def is_oom(error: BaseException) -> bool:
    """MemoryError, torch's OutOfMemoryError (torch >= 1.13), or the plain RuntimeError older torch
    and cuDNN raise for CUDA allocation failures."""
    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError":
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()
