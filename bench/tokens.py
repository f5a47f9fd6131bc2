"""A trusted issuer for the benchmark: a signing key, the service's settings that trust it, and
tokens signed ahead of the calls that carry them (`bench/asgi.py --auth`).

The key is made afresh on every run; nothing secret is kept in the repository.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

BASE = "https://cds.bench.invalid"
ISS = "https://ehr.bench.invalid/auth"
KID = "bench-1"


def service_id(hook: str) -> str:
    from service.discovery import discovery_document

    return next(s["id"] for s in discovery_document()["services"] if s["hook"] == hook)


class Issuer:
    """An EHR's signing key, ES384 (P-384) or RS384 (RSA 2048), the two the spec names."""

    def __init__(self, alg: str) -> None:
        self.alg = alg
        if alg == "ES384":
            self._key: Any = ec.generate_private_key(ec.SECP384R1())
            public = ECAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        elif alg == "RS384":
            self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        else:
            raise ValueError(f"no bench key for {alg}")
        self.jwk = {**public, "kid": KID, "use": "sig", "alg": alg}

    def settings(self) -> dict[str, str]:
        """The service's environment: JWT auth, this issuer trusted, the public base URL."""
        trusted = [{"iss": ISS, "jwks": {"keys": [self.jwk]}, "algorithms": [self.alg]}]
        return {
            "MSCDS_AUTH": "jwt",
            "MSCDS_TRUSTED_ISSUERS": orjson.dumps(trusted).decode(),
            "MSCDS_PUBLIC_BASE_URL": BASE,
        }

    def tokens(self, path: str, n: int) -> Iterator[bytes]:
        """`n` tokens for calls to `path`, each with its own jti (a token is good for one call)."""
        now = int(time.time())
        signed = [
            jwt.encode(
                {
                    "iss": ISS,
                    "aud": BASE + path,
                    "iat": now,
                    "exp": now + 300,
                    "jti": str(uuid.uuid4()),
                },
                self._key,
                algorithm=self.alg,
                headers={"kid": KID, "typ": "JWT"},
            ).encode()
            for _ in range(n)
        ]
        return iter(signed)
