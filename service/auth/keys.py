"""Public keys of trusted issuers: fixed JWK Sets, and fetched ones cached with a TTL.

A fetched set is refreshed when its TTL runs out, or early when a token names a `kid` it lacks
(key rotation), but at most once a minute, so tokens with made-up `kid`s cannot turn the service
into a request amplifier. Fetches go only to configured URLs, never follow redirects, and are
bounded in time and size.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import orjson
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from service.auth.trust import key_dicts
from service.logs import log_event

JWKS_TTL_S = 600.0
MIN_REFRESH_INTERVAL_S = 60.0
MAX_JWKS_BYTES = 256 * 1024
FETCH_TIMEOUT_S = 5.0


class KeyUnavailable(Exception):
    """No key for this token; the message is a reason safe to log."""


class KeySet:
    """The usable keys of one JWK Set, by `kid`, each bound to the algorithm a token asks for."""

    def __init__(self, jwks: Any) -> None:
        self._jwks = {k["kid"]: k for k in key_dicts(jwks)}
        self._bound: dict[tuple[str, str], PyJWK] = {}

    def __contains__(self, kid: str) -> bool:
        return kid in self._jwks

    def key(self, kid: str, algorithm: str) -> PyJWK:
        """The key `kid` for `algorithm`; refuses a key that declares another algorithm or type."""
        found = self._bound.get((kid, algorithm))
        if found is not None:
            return found
        jwk = self._jwks.get(kid)
        if jwk is None:
            raise KeyUnavailable("unknown kid")
        if jwk.get("alg", algorithm) != algorithm:
            raise KeyUnavailable("the key is declared for another algorithm")
        try:
            found = PyJWK(jwk, algorithm=algorithm)  # checks kty and EC curve against alg
        except (PyJWTError, ValueError, TypeError):
            raise KeyUnavailable("the key does not suit the token's algorithm") from None
        self._bound[(kid, algorithm)] = found
        return found


class StaticKeys:
    """A JWK Set given inline or as a file: read once at start-up."""

    def __init__(self, jwks: Any) -> None:
        self._keys = KeySet(jwks)

    async def key(self, kid: str, algorithm: str) -> PyJWK:
        return self._keys.key(kid, algorithm)


class RemoteKeys:
    """A JWK Set at a URL, fetched on first use and cached."""

    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        *,
        ttl_s: float = JWKS_TTL_S,
        min_interval_s: float = MIN_REFRESH_INTERVAL_S,
        clock: Any = time.monotonic,
    ) -> None:
        self.url = url
        self._http = http
        self._ttl_s = ttl_s
        self._min_interval_s = min_interval_s
        self._clock = clock
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")  # last attempt, successful or not
        self._lock = asyncio.Lock()

    async def key(self, kid: str, algorithm: str) -> PyJWK:
        now = self._clock()
        stale = self._keys is None or now - self._fetched_at >= self._ttl_s
        if stale or kid not in self._keys:  # type: ignore[operator]
            await self._refresh(kid)
        if self._keys is None:
            raise KeyUnavailable("the issuer's key set could not be fetched")
        return self._keys.key(kid, algorithm)

    async def _refresh(self, kid: str) -> None:
        async with self._lock:
            now = self._clock()
            fresh = self._keys is not None and now - self._fetched_at < self._ttl_s
            if fresh and kid in self._keys:  # type: ignore[operator]
                return  # another request refreshed it while this one waited
            if now - self._fetched_at < self._min_interval_s:
                return  # fetched a moment ago: a still-unknown kid stays unknown
            self._fetched_at = now
            try:
                self._keys = KeySet(await fetch_jwks(self._http, self.url))
            except KeyUnavailable as exc:  # keep the keys already held; retry after the interval
                log_event("jwks_fetch_failed", logging.WARNING, url=self.url, reason=str(exc))
                return
            log_event("jwks_fetched", url=self.url)


async def fetch_jwks(http: httpx.AsyncClient, url: str) -> Any:
    """GET a JWK Set: no redirects, at most MAX_JWKS_BYTES, within FETCH_TIMEOUT_S."""
    try:
        async with asyncio.timeout(FETCH_TIMEOUT_S):
            async with http.stream(
                "GET", url, headers={"Accept": "application/json"}, follow_redirects=False
            ) as response:
                if response.status_code != 200:
                    raise KeyUnavailable(f"key set URL answered {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > MAX_JWKS_BYTES:
                    raise KeyUnavailable("key set larger than the limit")
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > MAX_JWKS_BYTES:
                        raise KeyUnavailable("key set larger than the limit")
    except (TimeoutError, httpx.TimeoutException):
        raise KeyUnavailable("key set URL timed out") from None
    except httpx.HTTPError as exc:
        raise KeyUnavailable(f"key set URL unreachable ({type(exc).__name__})") from None
    try:
        jwks = orjson.loads(data)
        key_dicts(jwks)
    except (orjson.JSONDecodeError, ValueError):
        raise KeyUnavailable("key set URL returned no usable JWK Set") from None
    return jwks
