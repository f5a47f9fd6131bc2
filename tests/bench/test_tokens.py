"""The benchmark's issuer (`bench/asgi.py --auth`): its tokens pass the service's own checks."""

from __future__ import annotations

import httpx
import pytest

from bench.tokens import Issuer, service_id
from service.auth.replay import MemoryReplayCache
from service.auth.verifier import AuthError, Verifier
from service.config import Settings


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
async def test_each_token_is_accepted_once(alg: str, monkeypatch: pytest.MonkeyPatch) -> None:
    issuer = Issuer(alg)
    for name, value in issuer.settings().items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.auth == "jwt"
    path = f"/cds-services/{service_id('patient-view')}"
    first, second = (token.decode() for token in issuer.tokens(path, 2))
    async with httpx.AsyncClient() as http:
        verifier = Verifier(
            settings.trusted_issuers, [settings.public_base_url], MemoryReplayCache(), http
        )
        assert (await verifier.verify(first, path)).iss == settings.trusted_issuers[0].iss
        await verifier.verify(second, path)
        with pytest.raises(AuthError, match="replay"):
            await verifier.verify(first, path)
        with pytest.raises(AuthError, match="aud"):
            await verifier.verify(next(issuer.tokens(path, 1)).decode(), "/cds-services")
