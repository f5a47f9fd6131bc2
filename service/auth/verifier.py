"""JWT authentication of the CDS client (CDS Hooks 2.0 §Trusting CDS Clients).

The order of checks matters: the algorithm in the header is checked against the issuer's list
before any key is touched, so the library never picks an algorithm from the token; the key comes
only from the issuer's configured source, or from a `jku` on that issuer's allowlist; the `jti`
is recorded only after the signature and claims verified, so forged tokens cannot burn real ids.
Every failure is one generic 401 to the caller; the reason goes to the log, the token never does.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from fastapi import Request
from jwt import exceptions as jwt_errors

from service.auth.keys import KeyUnavailable, RemoteKeys, StaticKeys
from service.auth.replay import ReplayCache, ReplayStoreUnavailable
from service.auth.trust import ASYMMETRIC_ALGORITHMS, TrustedIssuer, read_jwks_file
from service.http.errors import HTTPProblem
from service.logs import log_event, log_refusal, where_it_failed
from service.metrics import jwt_failed

LEEWAY_S = 60  # clock skew tolerated on exp, nbf and iat
MAX_LIFETIME_S = 3600  # the spec's "no more than an hour"; bounds the replay store too
MAX_TOKEN_CHARS = 16_384
MAX_JTI_CHARS = 256
NUMERIC_DATE_CLAIMS = ("exp", "iat", "nbf")
# Beyond 2**53 seconds a NumericDate is no instant a float can hold (nor any real date).
MAX_NUMERIC_DATE = 2**53
CHALLENGE = {"WWW-Authenticate": "Bearer"}

_REASONS: dict[type[Exception], str] = {
    jwt_errors.ExpiredSignatureError: "token expired",
    jwt_errors.ImmatureSignatureError: "token not yet valid (nbf or iat in the future)",
    jwt_errors.InvalidAudienceError: "aud is not this endpoint's URL",
    jwt_errors.InvalidIssuerError: "iss changed between checks",
    jwt_errors.InvalidSignatureError: "signature does not verify",
    jwt_errors.InvalidAlgorithmError: "algorithm not allowed",
    jwt_errors.DecodeError: "malformed token",
}


class AuthError(Exception):
    """Authentication failed; `reason` and `fields` are safe to log (never the token)."""

    def __init__(self, reason: str, **fields: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fields = fields


@dataclass(frozen=True, slots=True)
class Client:
    """Who called, once the token verified."""

    iss: str
    tenant: str | None
    sub: str | None = None  # the client's id at its issuer (CDS Hooks: the client_id)


def _short(value: object) -> str:
    return str(value)[:120]


def _is_numeric_date(value: object) -> bool:
    """RFC 7519 §2: a JSON number of seconds. PyJWT would take "1999999999" (a string) or
    `true` (a bool) for one; Python's JSON reader also yields NaN and Infinity, which JSON has not.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and abs(value) <= MAX_NUMERIC_DATE


class _Issuer:
    def __init__(self, config: TrustedIssuer, http: httpx.AsyncClient) -> None:
        self.config = config
        if config.jwks is not None:
            self.keys: StaticKeys | RemoteKeys = StaticKeys(config.jwks)
        elif config.jwks_file is not None:
            self.keys = StaticKeys(read_jwks_file(config.jwks_file))
        else:
            assert config.jwks_url is not None
            self.keys = RemoteKeys(config.jwks_url, http)
        self.jku_keys = {url: RemoteKeys(url, http) for url in config.jku_allowlist}

    def keys_for(self, jku: object) -> StaticKeys | RemoteKeys:
        """The allowlisted `jku`'s keys; any other `jku` is never fetched, only ignored."""
        if isinstance(jku, str) and jku in self.jku_keys:
            return self.jku_keys[jku]
        return self.keys


class Verifier:
    """Checks bearer tokens against the trusted issuers for the endpoint being called."""

    def __init__(
        self,
        issuers: Sequence[TrustedIssuer],
        audience_bases: Sequence[str],
        replay: ReplayCache,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuers = {i.iss: _Issuer(i, http) for i in issuers}
        self._bases = tuple(b.rstrip("/") for b in audience_bases)
        self.replay = replay
        self._clock = clock

    def audiences(self, path: str) -> list[str]:
        """The exact URLs a caller may have called for `path` (the JWT's `aud`)."""
        return [base + path for base in self._bases]

    async def verify(self, token: str, path: str) -> Client:
        if len(token) > MAX_TOKEN_CHARS:
            raise AuthError("token too long")
        try:
            # Header and claims in one reading, to pick the issuer and key: nothing here is
            # trusted until `_decode` checks the signature. PyJWT checks every character of a
            # segment in Python, so a second reading would cost a sizeable part of a
            # verification (docs/performance.md).
            parts = jwt.decode_complete(token, options={"verify_signature": False})
        except jwt_errors.PyJWTError:
            raise AuthError("malformed token") from None
        header, unverified = parts["header"], parts["payload"]
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in ASYMMETRIC_ALGORITHMS:
            raise AuthError("algorithm refused (none, HMAC or unknown)", alg=_short(alg))
        if header.get("typ") not in (None, "JWT", "jwt"):
            raise AuthError("typ is not JWT")
        if not isinstance(kid, str) or not kid:
            raise AuthError("no kid in the token header")
        iss = unverified.get("iss")
        issuer = self._issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise AuthError("iss is not a trusted issuer", iss=_short(iss))
        facts = {"iss": issuer.config.iss, "kid": _short(kid), "alg": alg}
        if alg not in issuer.config.algorithms:
            raise AuthError("algorithm not allowed for this issuer", **facts)
        for name in NUMERIC_DATE_CLAIMS:
            if name in unverified and not _is_numeric_date(unverified[name]):
                raise AuthError(f"{name} is not a NumericDate (a JSON number)", **facts)
        try:
            key = await issuer.keys_for(header.get("jku")).key(kid, alg)
        except KeyUnavailable as exc:
            raise AuthError(str(exc), **facts) from None
        claims = self._decode(token, key, alg, path, facts)
        return await self._check_claims(claims, issuer.config, facts)

    def _decode(self, token: str, key: Any, alg: str, path: str, facts: dict) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audiences(path),
                issuer=facts["iss"],
                leeway=LEEWAY_S,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt_errors.MissingRequiredClaimError as exc:
            raise AuthError(f"claim {exc.claim} missing", **facts) from None
        except jwt_errors.PyJWTError as exc:
            reason = next(
                (text for kind, text in _REASONS.items() if isinstance(exc, kind)),
                f"token refused ({type(exc).__name__})",
            )
            raise AuthError(reason, **facts) from None

    async def _check_claims(
        self, claims: dict[str, Any], issuer: TrustedIssuer, facts: dict
    ) -> Client:
        now = self._clock()
        remaining = float(claims["exp"]) - now
        if remaining > MAX_LIFETIME_S + LEEWAY_S:
            raise AuthError("exp more than an hour ahead", **facts)
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_CHARS:
            raise AuthError("jti is not a usable string", **facts)
        tenant = claims.get("tenant")
        if issuer.tenants and tenant not in issuer.tenants:
            raise AuthError("tenant not allowed for this issuer", **facts)
        if not await self.replay.first_use(issuer.iss, jti, remaining + LEEWAY_S):
            raise AuthError("jti already used (replay)", **facts)
        sub = claims.get("sub")
        return Client(
            iss=issuer.iss,
            tenant=tenant if isinstance(tenant, str) else None,
            sub=sub if isinstance(sub, str) else None,
        )

    async def close(self) -> None:
        await self.replay.close()


def endpoint_path(request: Request) -> str:
    """The path below the public base URL (without any ASGI root_path)."""
    path = request.scope["path"]
    root = request.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


async def require_client(request: Request) -> Client | None:
    """FastAPI dependency: the verified caller, or 401 (503 if the replay store is down)."""
    verifier: Verifier | bool | None = getattr(request.app.state, "verifier", False)
    if verifier is None:  # MSCDS_AUTH=off, warned about at start-up
        return None
    if not isinstance(verifier, Verifier):  # not started yet
        raise HTTPProblem(503, "not ready")
    path = endpoint_path(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("no bearer token")
        client = await verifier.verify(token.strip(), path)
    except AuthError as exc:
        log_refusal("auth_failed", logging.WARNING, exc.reason, path=path, **exc.fields)
        jwt_failed(request, exc.reason)
        raise HTTPProblem(401, "authentication required", CHALLENGE) from None
    except ReplayStoreUnavailable as exc:
        log_refusal("auth_unavailable", logging.ERROR, str(exc), path=path)
        raise HTTPProblem(503, "authentication temporarily unavailable; retry later") from None
    except Exception as exc:  # a bug or a library surprise: fail closed, log no message
        at = where_it_failed(exc.__traceback__)[-3:]
        log_event("auth_error", logging.ERROR, error=type(exc).__name__, at=at, path=path[:200])
        raise HTTPProblem(401, "authentication required", CHALLENGE) from None
    request.state.client = client
    return client
