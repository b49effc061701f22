"""The C allocator told to keep freed tensor memory: on CPU, fresh pages for every activation cost a page fault each."""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

# mallopt(3) parameter numbers (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 * 2**20  # glibc's ceiling on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX); bigger blocks are always mapped
TRIM_THRESHOLD = 2**30  # free memory at the heap's top kept before any is handed back to the OS


def keep_freed_memory() -> bool:
    """Serve blocks up to 32 MiB from the heap and keep what is freed there (glibc's mallopt); whether it applied.

    PyTorch's CPU tensors are plain malloc/free. glibc maps a block above its mmap threshold afresh and unmaps it
    when freed, and trims the heap when more than twice that threshold lies free at its top, so every network call
    writes its activations into new pages: a page fault and a zeroed page per 4 KiB, thousands per forward, and
    almost none with these settings (docs/runs.md, "Speed settings and memory"). PyTorch's CPU
    tuning guide preloads jemalloc or tcmalloc for the same reason; this needs no preload.
    False where the C library has no mallopt (not glibc): allocation stays as that library does it.
    """
    if platform.system() != "Linux":
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success; a fixed threshold also switches off glibc's dynamic one, which is the point
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
