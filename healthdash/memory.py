"""Handing memory back to the system after large, short-lived work (a full build of the scores, a batch)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Any


@functools.cache
def _libc() -> Any:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c"))
    except OSError:  # pragma: no cover - a system without a C library to load
        return None


def release_free_memory() -> bool:
    """Return the C heap's free pages to the system (glibc's malloc_trim); tell whether that was possible."""
    libc = _libc()
    if libc is None or not hasattr(libc, "malloc_trim"):  # pragma: no cover - not glibc
        return False
    libc.malloc_trim(0)
    return True
