"""Key sources and replay cache: caching, refresh limits, bounded fetches, Redis, the Sandbox."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import jwt
import pytest
import respx

from service.auth.keys import MAX_JWKS_BYTES, KeySet, KeyUnavailable, RemoteKeys
from service.auth.replay import MemoryReplayCache, RedisReplayCache, ReplayStoreUnavailable
from service.auth.trust import sandbox_jwks
from service.auth.verifier import AuthError, Verifier
from service.config import Settings
from service.http import security
from tests.service.auth_helpers import ec_key, jwks, rsa_key

URL = "https://ehr.example.org/.well-known/jwks.json"
SANDBOX_TOKEN = (
    (Path(__file__).parents[2] / "fixtures" / "security" / "sandbox-jwt.txt").read_text().strip()
)
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
SANDBOX_AUD = "http://127.0.0.1:8081/cds-services/echo-order-select"


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False) as client:
        yield client


# --- remote key sets -----------------------------------------------------------------------------


async def test_remote_keys_are_cached_for_the_ttl(http: httpx.AsyncClient) -> None:
    clock = Clock()
    keys = RemoteKeys(URL, http, ttl_s=600, clock=clock)
    with respx.mock() as mock:
        route = mock.get(URL).respond(json=jwks(ec_key()))
        await keys.key("ec-1", "ES384")
        clock.now += 599
        await keys.key("ec-1", "ES384")
        assert route.call_count == 1
        clock.now += 2
        await keys.key("ec-1", "ES384")
        assert route.call_count == 2


async def test_unknown_kid_refreshes_at_most_once_a_minute(http: httpx.AsyncClient) -> None:
    clock = Clock()
    keys = RemoteKeys(URL, http, clock=clock)
    with respx.mock() as mock:
        route = mock.get(URL).respond(json=jwks(ec_key()))
        await keys.key("ec-1", "ES384")
        for _ in range(5):
            with pytest.raises(KeyUnavailable, match="unknown kid"):
                await keys.key("rotated-in", "ES384")
        assert route.call_count == 1
        clock.now += 61
        route.respond(json=jwks(ec_key(), ec_key("rotated-in")))
        await keys.key("rotated-in", "ES384")  # key rotation picked up
        assert route.call_count == 2


async def test_failed_refresh_keeps_the_keys_already_held(http: httpx.AsyncClient) -> None:
    clock = Clock()
    keys = RemoteKeys(URL, http, ttl_s=600, clock=clock)
    with respx.mock() as mock:
        route = mock.get(URL).respond(json=jwks(ec_key()))
        await keys.key("ec-1", "ES384")
        clock.now += 700
        route.respond(503)
        assert await keys.key("ec-1", "ES384")  # stale but still the issuer's key


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (httpx.Response(302, headers={"Location": "https://evil.example.org/"}), "answered 302"),
        (httpx.Response(200, content=b"x" * (MAX_JWKS_BYTES + 1)), "larger than the limit"),
        (httpx.Response(200, content=b"not json"), "no usable JWK Set"),
        (httpx.Response(200, json={"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}), "no usable"),
    ],
    ids=["redirect", "too-large", "not-json", "hmac-only"],
)
async def test_bad_key_set_responses_give_no_key(
    http: httpx.AsyncClient, response: httpx.Response, reason: str
) -> None:
    keys = RemoteKeys(URL, http)
    with respx.mock() as mock:
        mock.get(URL).mock(return_value=response)
        with pytest.raises(KeyUnavailable, match="could not be fetched"):
            await keys.key("ec-1", "ES384")


async def test_streamed_key_set_is_cut_off_at_the_limit(http: httpx.AsyncClient) -> None:
    """No Content-Length: the body is counted as it arrives."""

    async def endless():
        while True:
            yield b" " * 65536

    keys = RemoteKeys(URL, http)
    with respx.mock() as mock:
        mock.get(URL).mock(return_value=httpx.Response(200, content=endless()))
        with pytest.raises(KeyUnavailable):
            await keys.key("ec-1", "ES384")


async def test_key_set_timeout(http: httpx.AsyncClient) -> None:
    keys = RemoteKeys(URL, http)
    with respx.mock() as mock:
        mock.get(URL).mock(side_effect=httpx.ConnectTimeout("slow"))
        with pytest.raises(KeyUnavailable):
            await keys.key("ec-1", "ES384")


def test_key_set_binds_each_key_to_its_algorithm() -> None:
    keys = KeySet(jwks(ec_key(), rsa_key()))
    assert keys.key("ec-1", "ES384").algorithm_name == "ES384"
    assert keys.key("rsa-1", "RS384").algorithm_name == "RS384"
    with pytest.raises(KeyUnavailable):
        keys.key("rsa-1", "PS384")  # the JWK says RS384
    with pytest.raises(KeyUnavailable):
        keys.key("ec-1", "RS384")  # an EC key is no RSA key
    bare = {k: v for k, v in rsa_key().public_jwk.items() if k != "alg"}
    assert KeySet({"keys": [bare]}).key("rsa-1", "PS256").algorithm_name == "PS256"


# --- replay cache --------------------------------------------------------------------------------


async def test_memory_replay_cache_forgets_after_the_lifetime() -> None:
    clock = Clock()
    cache = MemoryReplayCache(clock=clock)
    assert await cache.first_use("iss", "a", 300)
    assert not await cache.first_use("iss", "a", 300)
    assert await cache.first_use("other-iss", "a", 300)
    clock.now += 301
    assert await cache.first_use("iss", "a", 300)


async def test_memory_replay_cache_is_bounded_and_fails_closed() -> None:
    clock = Clock()
    cache = MemoryReplayCache(max_entries=3, clock=clock)
    for jti in "abc":
        assert await cache.first_use("iss", jti, 60)
    with pytest.raises(ReplayStoreUnavailable):
        await cache.first_use("iss", "d", 60)
    clock.now += 61  # expired ids are purged to make room
    assert await cache.first_use("iss", "d", 60)


def redis_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.redis
@pytest.mark.skipif(not redis_reachable(), reason="no Redis listening on 127.0.0.1:6379")
async def test_redis_replay_cache_is_shared_between_workers() -> None:
    worker_a = RedisReplayCache("redis://127.0.0.1:6379/0")
    worker_b = RedisReplayCache("redis://127.0.0.1:6379/0")
    jti = str(uuid.uuid4())
    try:
        assert await worker_a.first_use("https://ehr.example.org", jti, 2)
        assert not await worker_b.first_use("https://ehr.example.org", jti, 2)
        assert await worker_b.first_use("https://other.example.org", jti, 2)
        from service.auth.replay import _key

        ttl_ms = await worker_a._redis.pttl(_key("https://ehr.example.org", jti))
        assert 0 < ttl_ms <= 2000  # expires with the token
    finally:
        await worker_a.close()
        await worker_b.close()


async def test_unreachable_redis_fails_closed() -> None:
    cache = RedisReplayCache("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(ReplayStoreUnavailable):
            await cache.first_use("iss", "jti", 60)
        assert not await cache.ping()  # readiness says so too
    finally:
        await cache.close()


@pytest.mark.redis
@pytest.mark.skipif(not redis_reachable(), reason="no Redis listening on 127.0.0.1:6379")
async def test_a_reachable_redis_answers_the_readiness_ping() -> None:
    cache = RedisReplayCache("redis://127.0.0.1:6379/0")
    try:
        assert await cache.ping()
    finally:
        await cache.close()
    assert await MemoryReplayCache().ping()


# --- the real Sandbox token ----------------------------------------------------------------------


def test_sandbox_token_verifies_against_its_published_key() -> None:
    key = KeySet(sandbox_jwks()).key(SANDBOX_KID, "ES384")
    claims = jwt.decode(
        SANDBOX_TOKEN,
        key,
        algorithms=["ES384"],
        audience=SANDBOX_AUD,
        issuer="https://sandbox.cds-hooks.org",
        options={"verify_exp": False},
    )
    assert claims["jti"] == "a1a3a87f-aa5b-438e-bd65-0d4e902c8eba"
    header, payload, signature = SANDBOX_TOKEN.split(".")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            f"{header}.{payload}.{signature[:-4]}AAAA",
            key,
            algorithms=["ES384"],
            audience=SANDBOX_AUD,
            options={"verify_exp": False},
        )


async def test_sandbox_token_passes_the_demo_verifier_at_its_own_time(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Demo mode on port 8081 accepts the captured call, without fetching the token's jku."""
    issued = jwt.decode(SANDBOX_TOKEN, options={"verify_signature": False})["iat"]

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.fromtimestamp(issued + 5, tz or UTC)

    monkeypatch.setattr(jwt.api_jwt, "datetime", Frozen)
    settings = Settings(data_dir=tmp_path, demo=True, port=8081)
    verifier = security.build_verifier(settings, http)
    assert isinstance(verifier, Verifier)
    verifier._clock = lambda: issued + 5
    with respx.mock(assert_all_called=False) as mock:
        mock.route().respond(404)  # record any request
        client = await verifier.verify(SANDBOX_TOKEN, "/cds-services/echo-order-select")
        assert client.iss == "https://sandbox.cds-hooks.org"
        with pytest.raises(AuthError, match="replay"):
            await verifier.verify(SANDBOX_TOKEN, "/cds-services/echo-order-select")
        with pytest.raises(AuthError, match="aud"):
            await verifier.verify(SANDBOX_TOKEN, "/cds-services/another")
        assert not mock.calls  # the jku (sandbox.cds-hooks.org) was not fetched


async def test_sandbox_token_is_refused_without_the_opt_in(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        public_base_url="http://127.0.0.1:8081",
        trusted_issuers=[{"iss": "https://ehr.example.org", "jwks": jwks(ec_key())}],
    )
    verifier = security.build_verifier(settings, http)
    assert verifier is not None
    with pytest.raises(AuthError, match="not a trusted issuer"):
        await verifier.verify(SANDBOX_TOKEN, "/cds-services/echo-order-select")
