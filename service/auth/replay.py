"""Replay protection: each (issuer, jti) is accepted once while its token is still valid.

One process keeps the seen ids in memory; several workers or replicas share them in Redis
(`MSCDS_REDIS_URL`) with an atomic SET NX and an expiry equal to the token's remaining lifetime,
so the store never outgrows the tokens that could still be replayed.

Every authenticated call asks Redis once, so a burst of calls asks it at once: the connection
pool is bounded (`MSCDS_REDIS_MAX_CONNECTIONS`) and a call beyond it waits for a connection to
come free, for `MSCDS_REDIS_POOL_TIMEOUT_S` at most, instead of failing with a 503 while Redis
itself is healthy.
"""

from __future__ import annotations

import hashlib
import time
from typing import Protocol

MAX_MEMORY_ENTRIES = 200_000
REDIS_MAX_CONNECTIONS = 64
REDIS_POOL_TIMEOUT_S = 2.0
REDIS_SOCKET_TIMEOUT_S = 2.0


class ReplayStoreUnavailable(Exception):
    """The shared store could not be asked; fail closed."""


class ReplayCache(Protocol):
    async def first_use(self, issuer: str, jti: str, ttl_s: float) -> bool:
        """Record the id; True if it was not seen within its lifetime."""
        ...

    async def ping(self) -> bool:
        """True when the store can be asked (readiness)."""
        ...

    async def close(self) -> None: ...


def _key(issuer: str, jti: str) -> str:
    digest = hashlib.sha256(f"{issuer}\x00{jti}".encode()).hexdigest()
    return f"mscds:jti:{digest}"


class MemoryReplayCache:
    """Seen ids of this process only: right for one worker, wrong for several."""

    def __init__(self, max_entries: int = MAX_MEMORY_ENTRIES, clock=time.monotonic) -> None:
        self._seen: dict[str, float] = {}  # key -> expiry (monotonic)
        self._max_entries = max_entries
        self._clock = clock

    async def first_use(self, issuer: str, jti: str, ttl_s: float) -> bool:
        now = self._clock()
        key = _key(issuer, jti)
        expiry = self._seen.get(key)
        if expiry is not None and expiry > now:
            return False
        if len(self._seen) >= self._max_entries:
            self._seen = {k: e for k, e in self._seen.items() if e > now}
            if len(self._seen) >= self._max_entries:
                raise ReplayStoreUnavailable("replay cache full")
        self._seen[key] = now + max(ttl_s, 1.0)
        return True

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._seen.clear()


class RedisReplayCache:
    """Seen ids shared by every worker and replica through Redis."""

    def __init__(
        self,
        url: str,
        *,
        max_connections: int = REDIS_MAX_CONNECTIONS,
        pool_timeout_s: float = REDIS_POOL_TIMEOUT_S,
    ) -> None:
        from redis.asyncio import BlockingConnectionPool, Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError

        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=pool_timeout_s,  # the wait for a free connection; then ConnectionError
            socket_timeout=REDIS_SOCKET_TIMEOUT_S,
            socket_connect_timeout=REDIS_SOCKET_TIMEOUT_S,
            # A pooled connection opened before Redis restarted fails at its next use: one more
            # try on a new connection, so that each stale connection does not cost a call a 503.
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError],
        )
        self._redis = Redis.from_pool(pool)  # the client owns the pool: aclose() closes both

    async def first_use(self, issuer: str, jti: str, ttl_s: float) -> bool:
        from redis.exceptions import RedisError

        try:
            stored = await self._redis.set(
                _key(issuer, jti), b"1", nx=True, px=max(int(ttl_s * 1000), 1000)
            )
        except (RedisError, OSError) as exc:
            raise ReplayStoreUnavailable(f"redis: {type(exc).__name__}") from None
        return bool(stored)

    async def ping(self) -> bool:
        from redis.exceptions import RedisError

        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        await self._redis.aclose()


def replay_cache(
    redis_url: str,
    *,
    max_connections: int = REDIS_MAX_CONNECTIONS,
    pool_timeout_s: float = REDIS_POOL_TIMEOUT_S,
) -> ReplayCache:
    """Redis when a URL is configured (shared by workers), else this process's memory."""
    if not redis_url:
        return MemoryReplayCache()
    return RedisReplayCache(
        redis_url, max_connections=max_connections, pool_timeout_s=pool_timeout_s
    )
