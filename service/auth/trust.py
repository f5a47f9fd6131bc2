"""Who may call the service: the JWT issuers of `MSCDS_TRUSTED_ISSUERS`, checked at start-up.

Each issuer names exactly one source for its public keys and the asymmetric algorithms it signs
with. `none` and HMAC are refused here already, so no configuration can re-enable them.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Asymmetric JWS algorithms only (RFC 7518); CDS Hooks forbids `none` and symmetric ones.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
DEFAULT_ALGORITHMS = ("ES384", "RS384")  # the two CDS Hooks recommends

SANDBOX_ISSUER = "https://sandbox.cds-hooks.org"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"


def check_fetch_url(url: str) -> str:
    """A URL the service may fetch keys from: https, or http only to the loopback interface."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{url!r} is not an absolute http(s) URL")
    if parts.username or parts.password:
        raise ValueError(f"{url!r} carries credentials")
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        raise ValueError(f"{url!r} must use https (plain http only to localhost)")
    return url


def key_dicts(jwks: Any) -> list[dict[str, Any]]:
    """The signature keys of a JWK Set that this service can use (EC and RSA, with a `kid`).

    Symmetric (`oct`) keys and keys marked for encryption are left out on purpose.
    """
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ValueError('a JWK Set must be an object with a "keys" array')
    usable = []
    for key in jwks["keys"]:
        if not isinstance(key, dict) or key.get("kty") not in ("EC", "RSA"):
            continue
        if key.get("use", "sig") != "sig" or not isinstance(key.get("kid"), str):
            continue
        if "d" in key:
            raise ValueError(f"key {key['kid']!r} is a private key; give the public key only")
        usable.append(key)
    if not usable:
        raise ValueError("the JWK Set holds no EC or RSA signature key with a kid")
    return usable


def read_jwks_file(path: Path) -> dict[str, Any]:
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc.msg})") from None
    key_dicts(data)
    return data


class TrustedIssuer(BaseModel):
    """One entry of MSCDS_TRUSTED_ISSUERS."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    iss: str = Field(min_length=1)
    jwks: dict[str, Any] | None = None
    jwks_file: Path | None = None
    jwks_url: str | None = None
    jku_allowlist: tuple[str, ...] = ()
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    tenants: tuple[str, ...] = ()

    @field_validator("algorithms")
    @classmethod
    def _asymmetric(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("algorithms must not be empty")
        refused = [a for a in value if a not in ASYMMETRIC_ALGORITHMS]
        if refused:
            raise ValueError(
                f"algorithms {refused} not allowed; use some of {sorted(ASYMMETRIC_ALGORITHMS)}"
            )
        return value

    @field_validator("jwks_url")
    @classmethod
    def _fetchable(cls, value: str | None) -> str | None:
        return None if value is None else check_fetch_url(value)

    @field_validator("jku_allowlist")
    @classmethod
    def _fetchable_all(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_fetch_url(url) for url in value)

    @field_validator("jwks")
    @classmethod
    def _usable_jwks(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            key_dicts(value)
        return value

    @model_validator(mode="after")
    def _one_key_source(self) -> TrustedIssuer:
        given = [
            name for name in ("jwks", "jwks_file", "jwks_url") if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                f"issuer {self.iss!r} needs exactly one of jwks, jwks_file, jwks_url "
                f"(got {', '.join(given) or 'none'})"
            )
        if self.jwks_file is not None:
            read_jwks_file(self.jwks_file)
        return self


def sandbox_jwks() -> dict[str, Any]:
    """The CDS Hooks Sandbox's published public key (its private key is public too)."""
    data = resources.files("service").joinpath("data/sandbox-jwks.json").read_bytes()
    return orjson.loads(data)


def sandbox_issuer() -> TrustedIssuer:
    """Trust for the CDS Hooks Sandbox, for development only: anyone can sign its tokens."""
    return TrustedIssuer(iss=SANDBOX_ISSUER, jwks=sandbox_jwks(), algorithms=("ES384",))
