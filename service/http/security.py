"""The security profile: what the settings allow (issuers, audiences, FHIR servers, origins).

The layers that enforce it are in `service.http.middleware`.

Secure by default: JWT required, no browser origin, no FHIR server. Demo mode (`Settings.demo`)
is the one explicit opt-in that widens all three for the CDS Hooks Sandbox on this machine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx

from service.auth.replay import replay_cache
from service.auth.trust import TrustedIssuer, sandbox_issuer
from service.auth.verifier import Verifier
from service.config import Settings
from service.fhir.client import same_server
from service.logs import log_event

SANDBOX_ORIGIN = "https://sandbox.cds-hooks.org"
# A Sandbox run from a checkout (npm start) on this machine, any port.
LOCAL_ORIGIN_REGEX = r"http://(localhost|127\.0\.0\.1)(:\d{1,5})?"


def trusted_issuers(settings: Settings) -> list[TrustedIssuer]:
    """The configured issuers, plus the Sandbox when MSCDS_TRUST_SANDBOX or demo mode says so."""
    issuers = list(settings.trusted_issuers)
    if (settings.trust_sandbox or settings.demo) and not any(
        i.iss == sandbox_issuer().iss for i in issuers
    ):
        issuers.append(sandbox_issuer())
    return issuers


def public_base_urls(settings: Settings) -> list[str]:
    """The base URLs callers use; a token's `aud` is one of these plus the path called.

    Demo mode accepts both loopback spellings of the port, as a browser may use either.
    """
    bases = [settings.public_base_url] if settings.public_base_url else []
    if settings.demo:
        for host in ("127.0.0.1", "localhost"):
            url = f"http://{host}:{settings.port}"
            if url not in bases:
                bases.append(url)
    return bases


def fhir_servers(settings: Settings) -> list[str]:
    """Allowed FHIR bases; demo mode adds the service's own demo FHIR endpoint."""
    servers = list(settings.fhir_servers)
    if settings.demo:
        servers += [f"http://{h}:{settings.port}/fhir" for h in ("127.0.0.1", "localhost")]
    return servers


def fhir_server_allowed(settings: Settings) -> Callable[[str], bool]:
    """The `FhirClient.allowed` hook: True only under a configured base (prefix match)."""
    bases = tuple(fhir_servers(settings))

    def allowed(url: str) -> bool:
        return any(same_server(url, base) for base in bases)

    return allowed


def cors_origins(settings: Settings) -> tuple[list[str], str | None]:
    """Allowed origins, and a pattern for the local ones demo mode adds."""
    origins = list(settings.cors_origins)
    if settings.demo:
        if SANDBOX_ORIGIN not in origins:
            origins.append(SANDBOX_ORIGIN)
        return origins, LOCAL_ORIGIN_REGEX
    return origins, None


def warn_at_startup(settings: Settings) -> None:
    """Say loudly which protections this configuration relaxes."""
    if settings.auth == "jwt" and (settings.trust_sandbox or settings.demo):
        log_event(
            "sandbox_trusted",
            logging.WARNING,
            message="tokens signed with the CDS Hooks Sandbox key are accepted; that private key "
            "is public, so they authenticate nothing: development only",
        )
    log_event(
        "security",
        auth=settings.auth,
        issuers=[i.iss for i in trusted_issuers(settings)] if settings.auth == "jwt" else [],
        audience_bases=public_base_urls(settings),
        fhir_servers=fhir_servers(settings),
        cors_origins=cors_origins(settings)[0],
        replay_store="redis" if settings.redis_url else "memory",
    )


def build_verifier(settings: Settings, http: httpx.AsyncClient) -> Verifier | None:
    """The JWT verifier, or None when MSCDS_AUTH=off."""
    if settings.auth == "off":
        return None
    return Verifier(
        trusted_issuers(settings),
        public_base_urls(settings),
        replay_cache(
            settings.redis_url,
            max_connections=settings.redis_max_connections,
            pool_timeout_s=settings.redis_pool_timeout_s,
        ),
        http,
    )
