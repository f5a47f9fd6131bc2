"""A burst of calls shares a bounded pool of Redis connections and waits for one, never a 503.

redis-py's default pool refused a connection beyond its 100th with MaxConnectionsError, so 200
concurrent valid hook calls got 503s while Redis was healthy. Against the real Redis on
127.0.0.1:6379: a pool far smaller than the burst serves every call, and a pool that stays busy
beyond the wait fails closed (ReplayStoreUnavailable, the 503) instead of hanging.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from service.auth.replay import RedisReplayCache, ReplayStoreUnavailable
from service.auth.trust import TrustedIssuer
from service.config import Settings
from service.http.app import create_app
from tests.service.auth_helpers import BASE, ISS, PATIENT_VIEW, bearer, ec_key, jwks, token
from tests.service.builders import full_prefetch, hook_request

REDIS_URL = "redis://127.0.0.1:6379/0"
BURST = 200
POOL = 8


def redis_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not redis_reachable(), reason="no Redis listening on 127.0.0.1:6379"),
]


def _connections(cache: RedisReplayCache) -> int:
    pool = cache._redis.connection_pool
    return len(pool._available_connections) + len(pool._in_use_connections)


async def test_a_burst_larger_than_the_pool_is_served_in_full() -> None:
    cache = RedisReplayCache(REDIS_URL, max_connections=POOL, pool_timeout_s=10.0)
    jtis = [str(uuid.uuid4()) for _ in range(BURST)]
    try:
        results = await asyncio.gather(
            *(cache.first_use(ISS, jti, 30) for jti in jtis), return_exceptions=True
        )
        assert results == [True] * BURST
        assert _connections(cache) <= POOL
        # and each id was recorded: a second use of any of them is a replay
        again = await asyncio.gather(*(cache.first_use(ISS, jti, 30) for jti in jtis[:20]))
        assert again == [False] * 20
    finally:
        await cache.close()


async def test_a_pool_busy_beyond_the_wait_fails_closed() -> None:
    cache = RedisReplayCache(REDIS_URL, max_connections=1, pool_timeout_s=0.2)
    pool = cache._redis.connection_pool
    held = await pool.get_connection()  # the only connection, busy elsewhere
    try:
        with pytest.raises(ReplayStoreUnavailable, match="redis: ConnectionError"):
            await cache.first_use(ISS, str(uuid.uuid4()), 30)
        await pool.release(held)
        assert await cache.first_use(ISS, str(uuid.uuid4()), 30)  # free again: served
    finally:
        await cache.close()


async def test_a_burst_of_valid_hook_calls_gets_no_503(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        auth="jwt",
        public_base_url=BASE,
        trusted_issuers=(TrustedIssuer(iss=ISS, jwks=jwks(ec_key())),),
        redis_url=REDIS_URL,
        redis_max_connections=POOL,
        redis_pool_timeout_s=10.0,
        log_level="WARNING",
    )
    app = create_app(settings)
    body = orjson.dumps(hook_request(prefetch=full_prefetch()))
    tokens = [token() for _ in range(BURST)]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:

            async def call(jwt_value: str) -> int:
                headers = {**bearer(jwt_value), "Content-Type": "application/json"}
                response = await client.post(PATIENT_VIEW, content=body, headers=headers)
                return response.status_code

            statuses = await asyncio.gather(*(call(t) for t in tokens))
            replayed = await asyncio.gather(*(call(t) for t in tokens[:10]))
    assert statuses.count(503) == 0
    assert statuses == [200] * BURST
    assert replayed == [401] * 10  # the ids went to Redis: each token is good once
