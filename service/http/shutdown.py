"""Graceful shutdown: readiness turns false at the signal, then in-flight requests finish.

Uvicorn already drains on SIGTERM: it stops accepting connections and waits for running requests
(up to `timeout_graceful_shutdown`). What it does not do is tell the load balancer first. Here
the first SIGTERM (what orchestrators send) sets `app.state.ready = False` at once (so
`/health/ready` answers 503), keeps serving for `drain_delay_s` so probes notice and traffic moves
elsewhere, and only then starts uvicorn's own shutdown. SIGINT (Ctrl-C) and a second SIGTERM flip
readiness and skip the delay; a second Ctrl-C forces exit, as in plain uvicorn.

`run()` replaces `uvicorn.run()`. One process runs a `GracefulServer`. With several workers,
uvicorn's supervisor builds each worker's server itself, so each worker instead builds its app
through `worker_app()`, which chains the same behaviour onto the signal handlers uvicorn has
installed in that worker by then.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from types import FrameType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.importer import import_from_string

_APP_ENV = "_MSCDS_GRACEFUL_APP"  # parent -> worker processes: the real app factory
_DELAY_ENV = "_MSCDS_GRACEFUL_DRAIN_S"

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
        if self.draining_since is None and self.drain_delay_s > 0 and sig == signal.SIGTERM:
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
    if workers > 1:
        if not options.pop("factory", False):
            raise ValueError("several workers need an app factory (factory=True)")
        os.environ[_APP_ENV] = app
        os.environ[_DELAY_ENV] = str(drain_delay_s)
        uvicorn.run(f"{__name__}:worker_app", factory=True, workers=workers, **options)
        return
    GracefulServer(uvicorn.Config(app, **options), drain_delay_s=drain_delay_s).run()


def worker_app() -> Any:
    """In a worker process: the real app, with readiness chained onto uvicorn's signal handlers.

    Uvicorn installs its handlers before it loads the app, so they are the ones chained here.
    """
    app = import_from_string(os.environ[_APP_ENV])()
    chain_signal_handlers(app, float(os.environ.get(_DELAY_ENV) or 0))
    return app


def chain_signal_handlers(app: Any, drain_delay_s: float) -> None:
    """On SIGTERM: readiness false now, the previous handler after `drain_delay_s` (SIGINT and a
    second SIGTERM: at once)."""
    if threading.current_thread() is not threading.main_thread():
        return
    delayed: list[threading.Timer] = []
    target = _starlette_app(app)

    def chained(previous: Any) -> Any:
        def handler(signum: int, frame: FrameType | None) -> None:
            if target is not None:
                target.state.ready = False
            if drain_delay_s > 0 and not delayed and signum == signal.SIGTERM:
                timer = threading.Timer(drain_delay_s, previous, (signum, frame))
                timer.daemon = True
                delayed.append(timer)
                timer.start()
            else:  # no delay, or a second signal: stop now
                previous(signum, frame)

        return handler

    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)
        if callable(previous):
            signal.signal(signum, chained(previous))
