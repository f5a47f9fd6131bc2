"""Graceful shutdown: readiness turns false at the signal, then in-flight requests finish.

Uvicorn already drains on SIGTERM: it stops accepting connections and waits for running requests
(up to `timeout_graceful_shutdown`). What it does not do is tell the load balancer first. Here
the first SIGTERM/SIGINT sets `app.state.ready = False` at once (so `/health/ready` answers 503),
keeps serving for `drain_delay_s` so probes notice and traffic moves elsewhere, and only then
starts uvicorn's own shutdown. A second signal skips the delay (and a second Ctrl-C forces exit,
as in plain uvicorn).

`run()` replaces `uvicorn.run()` for the single-process and the multi-worker cases alike: each
worker process runs a `GracefulServer` and finds its own app through the middleware chain.
"""

from __future__ import annotations

import time
from types import FrameType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

DEFAULT_GRACEFUL_TIMEOUT_S = 30.0  # the longest an in-flight request may take to finish


def _starlette_app(app: Any) -> Starlette | None:
    """The Starlette/FastAPI app under uvicorn's wrappers (proxy headers, message logger...)."""
    for _ in range(16):
        if isinstance(app, Starlette):
            return app
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


class GracefulServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, *, drain_delay_s: float = 0.0) -> None:
        super().__init__(config)
        self.drain_delay_s = drain_delay_s
        self.draining_since: float | None = None

    def mark_not_ready(self) -> None:
        app = _starlette_app(getattr(self.config, "loaded_app", None)) or _starlette_app(
            self.config.app
        )
        if app is not None:
            app.state.ready = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.mark_not_ready()  # first, before anything stops
        if self.draining_since is None and self.drain_delay_s > 0:
            self.draining_since = time.monotonic()
            self._captured_signals.append(sig)  # re-raised after serving, as uvicorn does
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if (
            self.draining_since is not None
            and not self.should_exit
            and time.monotonic() - self.draining_since >= self.drain_delay_s
        ):
            self.should_exit = True
        return await super().on_tick(counter)


def run(
    app: Any,
    *,
    drain_delay_s: float = 0.0,
    workers: int = 1,
    **options: Any,
) -> None:
    """Serve like `uvicorn.run(app, workers=..., **options)`, with the graceful shutdown above.

    `app` is an ASGI app, or an import string (with `factory=True` for a factory) when
    `workers > 1`.
    """
    if workers > 1 and not isinstance(app, str):
        raise ValueError("several workers need the app as an import string (and factory=True)")
    options.setdefault("timeout_graceful_shutdown", DEFAULT_GRACEFUL_TIMEOUT_S)
    config = uvicorn.Config(app, workers=workers, **options)
    server = GracefulServer(config, drain_delay_s=drain_delay_s)
    if config.workers > 1:
        sock = config.bind_socket()
        Multiprocess(config, target=server.run, sockets=[sock]).run()
    else:
        server.run()
