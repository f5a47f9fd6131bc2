"""A fixed mmap threshold for glibc's malloc in the serving process, so that large blocks freed
after a request go back to the system.

glibc serves a block at or above its mmap threshold with a mapping of its own, unmapped when the
block is freed; smaller blocks come from the heap. By default the threshold is dynamic: each time
a mapped block is freed, the threshold rises to that block's size. After one multi-megabyte
request body, the next bodies and the long strings decoded from them come from the heap, and
what they leave there when freed stays in the process's RSS, since a heap gives memory back only
from its top and live objects sit above the holes. Every call that sends megabytes of unique free
text then grows the process a little more.

Setting the threshold (as the environment variable MALLOC_MMAP_THRESHOLD_ does) turns the dynamic
adjustment off: large blocks are always mapped and always returned. The service sets it at
start-up in each worker process, glibc only; an operator's own MALLOC_MMAP_THRESHOLD_ is left as
it is. Elsewhere (musl, macOS) this does nothing, and it never stops start-up.
docs/performance.md has the measurements.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["MMAP_THRESHOLD_BYTES", "fix_malloc_thresholds"]

# Blocks this large or larger are mapped on their own: glibc's own default before it adjusts,
# above the sizes Python's small-object allocator and most dict and list tables ask for.
MMAP_THRESHOLD_BYTES = 128 * 1024
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
_OPERATOR_SETTING = "MALLOC_MMAP_THRESHOLD_"


def fix_malloc_thresholds() -> bool:
    """Fix glibc's mmap threshold at `MMAP_THRESHOLD_BYTES` for this process.

    True when set (or already set by the operator's MALLOC_MMAP_THRESHOLD_); False where the C
    library is not glibc or refuses. Never raises: the service runs either way.
    """
    if _OPERATOR_SETTING in os.environ:
        return True  # glibc read it at start-up, and the operator's value wins
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)  # the C library this process already runs on
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    if not hasattr(libc, "gnu_get_libc_version"):  # glibc's; musl has mallopt, not this
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    try:
        return mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    except (OSError, ctypes.ArgumentError):
        return False
