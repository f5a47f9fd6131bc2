"""Per-client token buckets: how much a client may send per minute, held in this process.

Each replica (and each worker process) keeps its own buckets, so N workers admit up to N times the
rate; a shared limit belongs at the proxy. Memory is bounded: past `max_clients` buckets the one
used longest ago is dropped (its client starts again with a full bucket).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_CLIENTS = 10_000


class TokenBuckets:
    """`per_minute` units per client, refilled continuously, at most `burst` held at once."""

    def __init__(
        self,
        per_minute: int,
        burst: int,
        *,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0 or burst <= 0:
            raise ValueError("per_minute and burst must be positive")
        self.per_second = per_minute / 60
        self.burst = float(burst)
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at

    def take(self, client: str, units: int) -> float:
        """Take `units` from the client's bucket and return 0, or take nothing and return the
        seconds until they will be there (never more than `burst` can be asked for at once)."""
        now = self._clock()
        tokens, at = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.per_second)
        wait = 0.0
        if units <= tokens:
            tokens -= units
        else:
            wait = (min(units, self.burst) - tokens) / self.per_second
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after(wait_s: float) -> str:
    """The Retry-After header value for a wait: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait_s)))
