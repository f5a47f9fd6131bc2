"""Deadlines for clients that send slowly: headers, then the body.

Uvicorn waits for a request's headers and body as long as the client keeps the connection open,
so a few hundred connections that trickle bytes (slowloris), or a request whose Content-Length
promises more than it sends, hold the server's connections and handlers indefinitely.

- `HeaderDeadline` (the HTTP protocol `serve` runs) closes a connection whose request headers
  are not complete `header_read_timeout_s` after it opened, or after the request's first byte.
- `deadline_receive` and `BodyReadDeadline` (every request, including the hook fast path in
  `service.http.dispatch`) answer 408 and close the connection when the body is not complete
  `body_read_timeout_s` after the headers.

A reverse proxy in front should enforce the same (docs/security.md); these hold when it does not.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http.errors import HTTPProblem
from service.logs import log_refusal

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - uvicorn without httptools: `serve` uses "auto"
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

DEFAULT_HEADER_READ_TIMEOUT_S = 10.0


class BodyReadTimeout(HTTPProblem):
    def __init__(self, seconds: float) -> None:
        super().__init__(
            408,
            f"the request body was not received within {seconds:g} s",
            {"Connection": "close"},  # what is left of the body cannot be told from a request
        )


class _BodyWait:
    """One request's body read: its deadline, and the task waiting in `receive` for it."""

    __slots__ = ("deadline", "expired", "task")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.expired = False
        self.task: asyncio.Task[Any] | None = None


class _BodyWaits:
    """The body reads of one event loop that are waiting in `receive`, and one checker task
    that cancels the wait of any read past its deadline.

    A timer per read (`asyncio.timeout`) would be scheduled and cancelled on every hook call;
    here a body that is there at once (almost every hook call) costs a set insertion and removal,
    and the checker runs only while some read really waits.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: set[_BodyWait] = set()
        self.checking = False
        self._checker: asyncio.Task[None] | None = None  # held: the loop keeps only a weak one

    def add(self, wait: _BodyWait) -> None:
        self.waiting.add(wait)
        if not self.checking:
            self.checking = True
            self.loop.call_soon(self._start)  # by then a read that did not wait has left

    def _start(self) -> None:
        if self.waiting:
            self._checker = self.loop.create_task(self._check())
        else:
            self.checking = False

    async def _check(self) -> None:
        try:
            while self.waiting:
                now = self.loop.time()
                for wait in [w for w in self.waiting if w.deadline <= now]:
                    self.waiting.discard(wait)
                    wait.expired = True
                    if wait.task is not None:
                        wait.task.cancel()
                if self.waiting:
                    earliest = min(w.deadline for w in self.waiting)
                    await asyncio.sleep(min(max(earliest - now, 0.0), CHECK_EVERY_S))
        finally:
            self.checking = False


CHECK_EVERY_S = 1.0  # at most this late for a read whose deadline is earlier than the others'
_waits: _BodyWaits | None = None


def _waits_of(loop: asyncio.AbstractEventLoop) -> _BodyWaits:
    global _waits
    if _waits is None or _waits.loop is not loop:
        _waits = _BodyWaits(loop)
    return _waits


def deadline_receive(receive: Receive, seconds: float) -> Receive:
    """`receive`, raising BodyReadTimeout if the body is not complete `seconds` from now.

    Only the body is bounded: once it is complete, waiting for the disconnect is not.
    """
    loop = asyncio.get_running_loop()
    waits = _waits_of(loop)
    wait = _BodyWait(loop.time() + seconds)
    complete = False

    def too_late() -> BodyReadTimeout:
        log_refusal("slow_client", logging.WARNING, "body not received in time")
        return BodyReadTimeout(seconds)

    async def receive_within() -> Message:
        nonlocal complete
        if complete:
            return await receive()
        if wait.expired or loop.time() >= wait.deadline:
            raise too_late()
        wait.task = asyncio.current_task()
        waits.add(wait)
        try:
            message = await receive()
        except asyncio.CancelledError:
            if not wait.expired or wait.task is None:
                raise
            wait.task.uncancel()
            raise too_late() from None
        finally:
            waits.waiting.discard(wait)
        if message["type"] != "http.request" or not message.get("more_body", False):
            complete = True
        return message

    return receive_within


class BodyReadDeadline:
    """Apply `deadline_receive` to every HTTP request (its BodyReadTimeout is answered by the
    app's handler, or by `service.http.errors.Problems` when raised outside a route)."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, deadline_receive(receive, self.seconds), send)


def header_read_timeout(config: Any) -> float:
    """The app's `Settings.header_read_timeout_s`, found under uvicorn's wrappers."""
    app = getattr(config, "loaded_app", None)
    for _ in range(16):
        settings = getattr(getattr(app, "state", None), "settings", None)
        if settings is not None:
            return float(settings.header_read_timeout_s)
        app = getattr(app, "app", None)
    return DEFAULT_HEADER_READ_TIMEOUT_S


if HttpToolsProtocol is not None:

    class HeaderDeadline(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        """Uvicorn's httptools protocol, closing connections whose headers come too slowly.

        The deadline starts when the connection opens and again with each request's first byte;
        complete headers end it. (Between requests, uvicorn's own keep-alive timeout applies.)
        """

        def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(config, *args, **kwargs)
            seconds = getattr(config, "_mscds_header_read_timeout_s", None)
            if seconds is None:
                seconds = header_read_timeout(config)
                config._mscds_header_read_timeout_s = seconds  # once per server
            self.header_read_timeout_s: float = seconds
            self._header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start_header_timer()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._start_header_timer()

        def on_headers_complete(self) -> None:
            self._stop_header_timer()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_header_timer()
            super().connection_lost(exc)

        def _start_header_timer(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(
                    self.header_read_timeout_s, self._headers_too_slow
                )

        def _stop_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                log_refusal("slow_client", logging.WARNING, "headers not received in time")
                self.transport.close()

    HTTP_PROTOCOL: str = f"{__name__}:HeaderDeadline"
else:  # pragma: no cover
    HTTP_PROTOCOL = "auto"
