"""Credentials for writing to a protected FHIR server (``load-samples``): a bearer token, or
SMART Backend Services client credentials (a signed client assertion traded for a token).

SMART Backend Services (hl7.org/fhir/smart-app-launch/backend-services.html): the client signs a
short-lived JWT (iss = sub = client id, aud = token endpoint, RS384 or ES384, `kid` of its
registered public key) and POSTs it with ``grant_type=client_credentials``; the token endpoint
comes from ``<base>/.well-known/smart-configuration`` unless given. Tokens and keys never appear
in a message or a repr.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

__all__ = [
    "ASSERTION_TYPE",
    "DEFAULT_SCOPE",
    "BearerToken",
    "ClientCredentials",
    "CredentialError",
    "Credentials",
    "SigningKey",
    "access_token",
    "client_assertion",
    "read_signing_key",
    "read_token_file",
    "smart_token_endpoint",
]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEFAULT_SCOPE = "system/*.write"
ASSERTION_LIFETIME_S = 300  # SMART: no more than five minutes


class CredentialError(Exception):
    """Credentials could not be read or exchanged; the message is safe to print."""


@dataclass(frozen=True, slots=True)
class BearerToken:
    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key with the algorithm it signs with and the `kid` the server knows it by."""

    private_key: Any = field(repr=False)
    algorithm: str
    kid: str


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str
    key: SigningKey
    token_url: str | None = None  # None: discover it from the FHIR server
    scope: str = DEFAULT_SCOPE


Credentials = BearerToken | ClientCredentials


def read_token_file(path: Path) -> BearerToken:
    """A bearer token from a file (surrounding whitespace ignored)."""
    try:
        token = path.expanduser().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialError(f"cannot read the token file {path}: {exc}") from None
    if not token:
        raise CredentialError(f"the token file {path} is empty")
    return BearerToken(token)


# ---- keys -----------------------------------------------------------------------------------


def _thumbprint(public_jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint: a stable default `kid` for a PEM key."""
    members = ("e", "kty", "n") if public_jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({m: public_jwk[m] for m in members}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _algorithm_for(private_key: Any, declared: str | None, source: Path) -> str:
    if isinstance(private_key, rsa.RSAPrivateKey):
        algorithm = "RS384"
    elif isinstance(private_key, ec.EllipticCurvePrivateKey) and isinstance(
        private_key.curve, ec.SECP384R1
    ):
        algorithm = "ES384"
    else:
        raise CredentialError(
            f"{source}: SMART Backend Services signs with RS384 or ES384: "
            "the private key must be RSA or EC P-384"
        )
    if declared and declared != algorithm:
        raise CredentialError(f"{source}: the key declares alg {declared}, expected {algorithm}")
    return algorithm


def _load_jwk(text: str, source: Path) -> tuple[Any, dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CredentialError(f"{source}: not a JWK or PEM file ({exc.msg})") from None
    except ValueError:  # valid JSON that Python will not read, e.g. an integer of 5,000 digits
        raise CredentialError(f"{source}: not a JWK or PEM file (unreadable JSON)") from None
    keys = data.get("keys") if isinstance(data, dict) and "keys" in data else [data]
    private = [k for k in keys or [] if isinstance(k, dict) and "d" in k]
    if len(private) != 1:
        raise CredentialError(f"{source}: expected exactly one private JWK (with 'd')")
    jwk = private[0]
    try:
        return jwt.PyJWK(jwk, algorithm=jwk.get("alg") or _jwk_alg(jwk)).key, jwk
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        raise CredentialError(f"{source}: not a usable RSA or EC P-384 private JWK") from None


def _jwk_alg(jwk: dict[str, Any]) -> str:
    return "RS384" if jwk.get("kty") == "RSA" else "ES384"


def read_signing_key(path: Path, *, key_id: str | None = None) -> SigningKey:
    """The private key in a PEM (PKCS#8 or traditional, unencrypted) or JWK/JWK Set file.

    The `kid` is `key_id`, else the JWK's own, else the RFC 7638 thumbprint of the public key.
    """
    try:
        data = path.expanduser().read_bytes()
    except OSError as exc:
        raise CredentialError(f"cannot read the private key {path}: {exc.strerror}") from None
    text = data.decode("utf-8", errors="replace").lstrip()
    declared_alg: str | None = None
    kid = key_id
    if text.startswith("{"):
        private_key, jwk = _load_jwk(text, path)
        declared_alg = jwk.get("alg")
        kid = kid or jwk.get("kid")
    else:
        try:
            private_key = serialization.load_pem_private_key(data, password=None)
        except TypeError:
            raise CredentialError(f"{path}: encrypted private keys are not supported") from None
        except ValueError:
            raise CredentialError(f"{path}: not a PEM private key or a private JWK") from None
    algorithm = _algorithm_for(private_key, declared_alg, path)
    if not kid:
        to_jwk = RSAAlgorithm.to_jwk if algorithm == "RS384" else ECAlgorithm.to_jwk
        kid = _thumbprint(to_jwk(private_key.public_key(), as_dict=True))
    return SigningKey(private_key, algorithm, kid)


# ---- the token exchange -----------------------------------------------------------------------


def client_assertion(
    client_id: str, token_url: str, key: SigningKey, *, now: float | None = None
) -> str:
    """The signed JWT that authenticates this client to `token_url` (one use, five minutes)."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME_S,
        "jti": uuid.uuid4().hex,
    }
    headers = {"kid": key.kid, "typ": "JWT"}
    return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers=headers)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


async def smart_token_endpoint(client: httpx.AsyncClient, fhir_server: str) -> str:
    """The token endpoint the server publishes in ``.well-known/smart-configuration``."""
    url = f"{fhir_server.rstrip('/')}/.well-known/smart-configuration"
    try:
        response = await client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise CredentialError(f"cannot reach {url}: {type(exc).__name__}") from None
    body = _json_or_none(response) if response.is_success else None
    endpoint = body.get("token_endpoint") if isinstance(body, dict) else None
    if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
        raise CredentialError(
            f"{url} gave no token_endpoint (HTTP {response.status_code}): pass --token-url"
        )
    return endpoint


def _token_error(url: str, response: httpx.Response) -> CredentialError:
    body = _json_or_none(response)
    if isinstance(body, dict) and body.get("error"):
        reason = str(body["error"])
        if body.get("error_description"):
            reason += f": {body['error_description']}"
    else:
        reason = " ".join(response.text.split())[:300] or response.reason_phrase
    return CredentialError(
        f"the token endpoint {url} refused the client credentials "
        f"(HTTP {response.status_code}): {reason}"
    )


async def access_token(
    credentials: Credentials, client: httpx.AsyncClient, fhir_server: str
) -> str:
    """A bearer access token: the given one, or one obtained with the client credentials."""
    if isinstance(credentials, BearerToken):
        return credentials.token
    url = credentials.token_url or await smart_token_endpoint(client, fhir_server)
    form = {
        "grant_type": "client_credentials",
        "scope": credentials.scope,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(credentials.client_id, url, credentials.key),
    }
    try:
        response = await client.post(url, data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        reason = type(exc).__name__
        raise CredentialError(f"cannot reach the token endpoint {url}: {reason}") from None
    if not response.is_success:
        raise _token_error(url, response)
    body = _json_or_none(response)
    token = body.get("access_token") if isinstance(body, dict) else None
    kind = str(body.get("token_type", "bearer")) if isinstance(body, dict) else ""
    if not isinstance(token, str) or not token or kind.lower() != "bearer":
        raise CredentialError(f"the token endpoint {url} answered without a bearer access_token")
    return token
