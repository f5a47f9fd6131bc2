"""Keys, tokens and a JWT-protected app for the security tests.

Keys are generated per test session with `cryptography` and tokens signed with PyJWT, so no test
depends on a secret checked into the repository.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from service.logs import LOGGER_NAME, JsonFormatter

BASE = "https://cds.example.org"
ISS = "https://ehr.example.org/auth"
DISCOVERY = "/cds-services"
PATIENT_VIEW = "/cds-services/ms-back-pain-patient-view"
FEEDBACK = "/cds-services/ms-back-pain-patient-view/feedback"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private: Any

    @property
    def public_jwk(self) -> dict[str, Any]:
        algorithm = ECAlgorithm if self.alg.startswith("ES") else RSAAlgorithm
        jwk = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg}

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@cache
def ec_key(kid: str = "ec-1", curve: str = "P-384") -> SigningKey:
    curves = {"P-256": (ec.SECP256R1, "ES256"), "P-384": (ec.SECP384R1, "ES384")}
    kind, alg = curves[curve]
    return SigningKey(kid, alg, ec.generate_private_key(kind()))


@cache
def rsa_key(kid: str = "rsa-1", alg: str = "RS384") -> SigningKey:
    return SigningKey(kid, alg, rsa.generate_private_key(public_exponent=65537, key_size=2048))


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [k.public_jwk for k in keys]}


def claims(path: str = PATIENT_VIEW, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    payload = {
        "iss": ISS,
        "aud": BASE + path,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def token(
    path: str = PATIENT_VIEW,
    *,
    key: SigningKey | None = None,
    alg: str | None = None,
    headers: dict[str, Any] | None = None,
    **overrides: Any,
) -> str:
    key = key or ec_key()
    header = {"kid": key.kid, "typ": "JWT", **(headers or {})}
    return jwt.encode(
        claims(path, **overrides), key.private, algorithm=alg or key.alg, headers=header
    )


def b64(data: bytes | dict) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned_token(path: str = PATIENT_VIEW, kid: str = "ec-1") -> str:
    """`alg: none`, built by hand: PyJWT rightly will not help."""
    return f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{b64(claims(path))}."


def hmac_token(secret: bytes, alg: str = "HS384", kid: str = "rsa-1", **overrides: Any) -> str:
    """HMAC-signed with `secret` (the classic attack passes the public key PEM as the secret)."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signing_input = f"{b64({'alg': alg, 'typ': 'JWT', 'kid': kid})}.{b64(claims(**overrides))}"
    signature = hmac.new(secret, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


class LogCapture(logging.Handler):
    """Every record of the service logger, formatted exactly as production writes it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))

    def events(self, name: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines if json.loads(line)["event"] == name]

    def __enter__(self) -> LogCapture:
        logging.getLogger(LOGGER_NAME).addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger(LOGGER_NAME).removeHandler(self)
