"""The layers around the app, outermost first: `nosniff` on every answer; in demo mode, the
Host check; CORS; `Problems`, which answers what the layers inside it raise; the body read
deadline; the body limit.

The body limit and deadline sit inside CORS so that their 413 and 408 still reach a browser.
The demo Host check sits outside CORS so that a rebound preflight is refused too; as nothing
outside it could answer an exception, it answers its HTTPProblem itself.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import Settings
from service.http.body_limit import BodyLimit
from service.http.errors import NOSNIFF, HTTPProblem, Problems
from service.http.security import cors_origins
from service.http.slow_clients import BodyReadDeadline

CORS_METHODS = ["GET", "POST", "OPTIONS"]
CORS_HEADERS = ["Authorization", "Content-Type", "Accept"]


def install(app: FastAPI, settings: Settings) -> None:
    """Add the layers; each `add_middleware` wraps the ones added before it."""
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(BodyReadDeadline, seconds=settings.body_read_timeout_s)
    app.add_middleware(Problems)
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
                problem = HTTPProblem(
                    421,
                    "demo mode answers only requests addressed to localhost, 127.0.0.1 or "
                    "[::1] (the Host header); call it as http://localhost:<port>",
                )
                await problem.response()(scope, receive, send)
                return
        await self.app(scope, receive, send)
