"""The security profile derived from Settings, and the HTTP layers that enforce it.

Secure by default: JWT required, no browser origin, no FHIR server. Demo mode (`Settings.demo`)
is the one explicit opt-in that widens all three for the CDS Hooks Sandbox on this machine.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import httpx
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.auth.replay import replay_cache
from service.auth.trust import TrustedIssuer, sandbox_issuer
from service.auth.verifier import Verifier
from service.config import Settings
from service.fhir.client import same_server
from service.http.errors import NOSNIFF, HTTPProblem, problem_response
from service.http.slow_clients import BodyReadDeadline
from service.logs import log_event, where_it_failed

SANDBOX_ORIGIN = "https://sandbox.cds-hooks.org"
# A Sandbox run from a checkout (npm start) on this machine, any port.
LOCAL_ORIGIN_REGEX = r"http://(localhost|127\.0\.0\.1)(:\d{1,5})?"
CORS_METHODS = ["GET", "POST", "OPTIONS"]
CORS_HEADERS = ["Authorization", "Content-Type", "Accept"]


# --- what the settings mean -------------------------------------------------------------------


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


# Libraries that print request data (SQL parameters, URLs with patient ids) below WARNING.
CHATTY_LOGGERS = ("aiosqlite", "asyncpg", "sqlalchemy", "httpx", "httpcore", "hpack", "redis")


def pin_library_loggers() -> None:
    """Keep data-echoing library loggers at WARNING, whatever level the root logger gets."""
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


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


# Quoted values in a problem text (Python reprs) echo request input, which may be patient data.
_QUOTED = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")


def without_echoes(text: str) -> str:
    """A problem text fit for the log: every quoted value replaced by '…'."""
    return _QUOTED.sub("'…'", text)


# --- HTTP layers --------------------------------------------------------------------------------


def install(app: Any, settings: Settings) -> None:
    """Body limit and deadline inside CORS (a 413 or 408 still reaches the browser); errors
    contained inside all; in demo mode the Host check outside CORS (a rebound preflight fails
    too); `nosniff` outermost, on every answer."""
    app.add_middleware(ContainErrors)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(BodyReadDeadline, seconds=settings.body_read_timeout_s)
    origins, pattern = cors_origins(settings)
    if origins or pattern:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_origin_regex=pattern,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_HEADERS,
            allow_credentials=False,
            # Chromium's Private Network Access preflight (a public page calling localhost).
            allow_private_network=settings.cors_allow_private_network or settings.demo,
            max_age=600,
        )
    if settings.demo:
        app.add_middleware(LocalHostOnly)
    app.add_middleware(NoSniff)


class NoSniff:
    """`X-Content-Type-Options: nosniff` on every answer that does not carry it already
    (`service.http.errors.private_response` sets it, also on the hook fast path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if all(name.lower() != NOSNIFF[0] for name, _ in headers):
                    headers.append(NOSNIFF)
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_nosniff)


LOCAL_HOSTS = frozenset({b"localhost", b"127.0.0.1", b"[::1]"})


def local_host(host: bytes | None) -> bool:
    """Whether a Host header names this machine by a loopback name (any port)."""
    if not host:
        return False
    name = host.lower()
    if name.startswith(b"["):  # [v6]:port
        name = name.split(b"]", 1)[0] + b"]"
    else:
        name = name.rsplit(b":", 1)[0] if name.count(b":") == 1 else name
    return name in LOCAL_HOSTS


class LocalHostOnly:
    """Demo mode: answer only requests addressed to localhost, 127.0.0.1 or [::1].

    A web page can make a browser's name for its own site resolve to 127.0.0.1 (DNS rebinding)
    and then call the demo service as "its own" origin; such calls carry the page's host name,
    so they get 421 here. The Sandbox calls `http://localhost:<port>`, which passes.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = next((v for n, v in scope["headers"] if n == b"host"), None)
            if not local_host(host):
                text = (
                    "demo mode answers only requests addressed to localhost, 127.0.0.1 or "
                    "[::1] (the Host header); call it as http://localhost:<port>"
                )
                await problem_response(421, text)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyTooLarge(HTTPProblem):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


class BodyLimit:
    """Refuse request bodies over `max_bytes`: by Content-Length, and by counting what streams in.

    The count raises BodyTooLarge from `receive`, which the app's HTTPProblem handler turns into
    a 413; if it escapes before a response started, this layer answers 413 itself.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                if value.isdigit():
                    text = f"request body larger than {self.max_bytes} bytes"
                    await problem_response(413, text)(scope, receive, send)
                else:
                    await problem_response(400, "invalid Content-Length")(scope, receive, send)
                return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await problem_response(413, exc.diagnostics)(scope, receive, send)


class ContainErrors:
    """An unexpected exception becomes a 500 OperationOutcome and a log line with its type and
    frames only; it is not re-raised, so the server never prints its message (which may hold a
    token or patient data) in a traceback.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            await answer_unexpected(exc, scope, receive, send, started=started)


async def answer_unexpected(
    exc: Exception, scope: Scope, receive: Receive, send: Send, *, started: bool
) -> None:
    """Log an unexpected exception by type and frames only; answer 500 unless a response began."""
    log_event(
        "unhandled_error",
        logging.ERROR,
        error=type(exc).__name__,
        at=where_it_failed(exc.__traceback__)[-3:],
        path=str(scope.get("path", ""))[:200],
    )
    if not started:
        await problem_response(500, "internal error")(scope, receive, send)
