"""The garbage collector as the serving process sets it once started.

A hook call allocates thousands of containers (the parsed body, the chart's resources, the
cards) that all stay alive until it is answered, and reference counting frees them afterwards.
At the default threshold the collector runs many times during one large call and walks that
whole tree each time, for nothing: the cost of a call then grows faster than its size. Once
started, the service freezes what start-up made (it lives for the whole process) and raises the
young generation's threshold so that a collection does not run during a call; cyclic garbage is
still collected. The benchmarks call `settle` too, to measure what the service spends.
docs/performance.md has the measurements.
"""

from __future__ import annotations

import gc

__all__ = ["GC_YOUNG_THRESHOLD", "settle"]

# Container allocations, net of frees, before a young collection runs.
GC_YOUNG_THRESHOLD = 100_000


def settle() -> None:
    """Collect what start-up left, keep everything alive now out of later collections, and set
    the serving threshold."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)
