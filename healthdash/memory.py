"""Memory: handing it back to the system after large, short-lived work; sparing the collector long-lived objects."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import threading
from typing import Any

# Held by a computation over many customers (a full build of the score table, a large patch, the history's restating
# of past days): one at a time per process, so that their scratch memory never adds up (at 100,000 customers, a
# periodic rebuild and a batch's patch at once held about 100 MB together).
LARGE_WORK = threading.Lock()


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


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc's mallopt parameters
MALLOC_ARENAS = 2
LARGE_BLOCK = 128 * 1024  # bytes: blocks this large are mapped on their own and handed back when freed


def tune_malloc(arenas: int = MALLOC_ARENAS, large: int = LARGE_BLOCK) -> bool:
    """Have glibc's malloc hand memory back: a few heaps shared by the threads, large blocks mapped on their own.

    The database threads allocate large, short-lived arrays (a score table's columns, a batch's rows). With a heap per
    thread (up to 8 per core), what one thread frees stays in its heap. And glibc raises its threshold for mapping a
    block on its own to the size of each mapped block freed (up to 32 MB): after that, arrays of a score table's size
    come from the heap, where a small object allocated after them keeps the freed space resident. At 100,000
    customers each added 100 MB and more to the server's resident memory over a day of writes. A fixed threshold
    keeps large blocks mapped, so that freeing one returns it at once. Call before the threads start. Returns whether
    the C library took the settings.
    """
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):  # pragma: no cover - not glibc
        return False
    settings = ((M_ARENA_MAX, arenas), (M_MMAP_THRESHOLD, large), (M_TRIM_THRESHOLD, large))
    return all([bool(libc.mallopt(parameter, value)) for parameter, value in settings])


YOUNG_OBJECTS = 10_000  # allocations between two collections of the youngest generation (Python's default: 700)


def space_out_collections(young: int = YOUNG_OBJECTS) -> tuple[int, int, int]:
    """Let the cyclic collector run less often: after `young` allocations of tracked objects instead of 700.

    A batch of 10,000 events makes about 100,000 objects that live until it is stored (parsed, validated, encoded),
    and with the default each 700 of them set off a collection of the youngest objects, each 7,000 one of the
    generation after, and each few tens of thousands a full collection of every object made since the server started
    (the frozen ones apart). At 100,000 customers, by turns on one server: batches 42,600-53,500 events a second with
    the default, 56,300-61,400 with 10,000, 62,700-64,000 with the collector off; single events with 16 writers
    1,765 a second against 1,952-1,977. Objects are still freed as their last reference goes: only garbage held in
    reference cycles waits a little longer. The older generations keep their thresholds (each 10 collections of the
    one before). Returns the thresholds set.
    """
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, old)
    return gc.get_threshold()


def freeze_long_lived_objects() -> int:
    """Exempt what exists now (modules, classes, functions, kept for the process's life) from cyclic collection.

    A request that makes many objects at once (a batch of 10,000 events) sets off full collections, and each would
    walk every object of the process (hundreds of thousands once the server is set up); with those frozen it walks
    only what is new, which takes about two thirds off the cost of validating a batch. Returns how many were frozen.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
