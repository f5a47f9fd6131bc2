"""Structured logging: one JSON object per line, and nothing that identifies a patient.

Call sites pass explicit fields (`log_event`); nothing logs a request body, a header or an
exception message, because those are where tokens and patient data hide.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import orjson

LOGGER_NAME = "ms_backpain_cds"
logger = logging.getLogger(LOGGER_NAME)


_second: tuple[int, str] = (-1, "")  # the last whole second formatted, and its text


def _timestamp(created: float) -> str:
    """ISO 8601 in UTC to the millisecond; the date and time are formatted once per second,
    as formatting them per line was much of the formatter's cost (docs/performance.md)."""
    global _second
    whole = int(created)
    second = _second
    if second[0] != whole:
        second = _second = (whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{second[1]}.{int((created - whole) * 1000):03d}+00:00"


def _json_line(created: float, level: str, event: str, fields: object) -> str:
    line: dict[str, Any] = {"time": _timestamp(created), "level": level, "event": event}
    if isinstance(fields, dict):
        line.update(fields)
    return orjson.dumps(line, default=str).decode()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        if fields is None and record.name != LOGGER_NAME:
            return _json_line(
                record.created, record.levelname.lower(), "server", _server_fields(record)
            )
        return _json_line(record.created, record.levelname.lower(), record.getMessage(), fields)


def _server_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Another library's record (the server's): its text, cut short, and the exception's type
    only (never its message or traceback)."""
    fields: dict[str, Any] = {"logger": record.name, "message": record.getMessage()[:300]}
    if record.exc_info and record.exc_info[0] is not None:
        fields["error"] = record.exc_info[0].__name__
    return fields


class JsonLines(logging.StreamHandler):  # type: ignore[type-arg]
    """The service's own handler: JSON lines on stderr."""

    _mscds = True

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(JsonFormatter())

    def write_event(self, level: int, event: str, fields: dict[str, Any]) -> None:
        """What `emit` writes for a record of `log_event`, without building the record.

        In a loaded server the LogRecord and the logging calls around it are a measurable part
        of a hook call (docs/performance.md), more than in a tight loop, because every call
        finds them out of the CPU's caches.
        """
        text = _json_line(time.time(), logging.getLevelName(level).lower(), event, fields)
        try:
            with self.lock:  # type: ignore[union-attr]
                self.stream.write(text + self.terminator)
                self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr must not fail the request
            pass


# The server's loggers ("uvicorn.error", "uvicorn.access" propagate to "uvicorn").
SERVER_LOGGER = "uvicorn"


def configure(level: str = "INFO") -> None:
    """Send our logger's and the server's records to stderr as JSON lines (idempotent).

    The server's lines are rate-limited like refusals (`LineBudget`): a client can make uvicorn
    log "Invalid HTTP request received." with every malformed request it sends. Each call starts
    the budgets afresh (an app starting, in tests one per app).
    """
    refusals.clear()
    for name in (LOGGER_NAME, SERVER_LOGGER):
        target = logging.getLogger(name)
        target.setLevel(level)
        target.propagate = False
        if not any(getattr(h, "_mscds", False) for h in target.handlers):
            handler = JsonLines()
            if name == SERVER_LOGGER:
                handler.addFilter(_within_budget)
            target.addHandler(handler)


def _within_budget(record: logging.LogRecord) -> bool:
    return refusals.allow(("server", str(record.msg)[:100]))


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    if not logger.isEnabledFor(level):
        return
    handlers = logger.handlers
    if (
        len(handlers) == 1
        and type(handler := handlers[0]) is JsonLines
        and level >= handler.level
        and not (logger.filters or handler.filters)
    ):
        handler.write_event(level, event, fields)  # the default set-up: the line, directly
        return
    # Any other set-up (handlers or filters added): an ordinary record. It is made directly,
    # as `Logger.log` would also look up the caller's file and line, which no line shows.
    logger.handle(
        logger.makeRecord(LOGGER_NAME, level, "", 0, event, (), None, extra={"fields": fields})
    )


def where_it_failed(tb: TracebackType | None) -> list[str]:
    """The frames of a traceback as file:line function, without the exception's message."""
    return [
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in traceback.extract_tb(tb)
    ]


# --- lines a caller can cause -------------------------------------------------------------------

CALLER_VALUE_CHARS = 64  # the longest endpoint path is 48 characters
LINES_PER_SECOND = 10  # per kind of line (event and reason)
MAX_KINDS = 256


class LineBudget:
    """At most `per_second` lines of each kind per second; the others are counted, and the count
    goes out as one `log_suppressed` line when that second is over.

    Without it, anyone who can reach the port could fill the log (and the disk) with refusals.
    The count is written by a timer when an event loop runs, else with the next line of its
    kind, or by `flush()`.
    """

    def __init__(
        self, per_second: int = LINES_PER_SECOND, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_second = per_second
        self._clock = clock
        self._kinds: dict[tuple[str, ...], list[float]] = {}  # [second began, written, held]

    def allow(self, kind: tuple[str, ...]) -> bool:
        """Whether a line of this kind may be written now."""
        now = self._clock()
        state = self._kinds.get(kind)
        if state is None or now - state[0] >= 1.0:
            if state is not None:
                if self._kinds.pop(kind, None) is not None:  # not reported by a flush meanwhile
                    self._report(kind, state)
            elif len(self._kinds) >= MAX_KINDS:
                self.flush(now + 1.0)  # report and forget every kind
            self._kinds[kind] = [now, 1, 0]
            return True
        if state[1] < self.per_second:
            state[1] += 1
            return True
        state[2] += 1
        if state[2] == 1:
            self._flush_later(1.0 - (now - state[0]))
        return False

    def clear(self) -> None:
        """Forget every kind, reporting nothing."""
        self._kinds.clear()

    def flush(self, now: float | None = None) -> None:
        """Report the held-back lines of every kind whose second is over, and forget it."""
        now = self._clock() if now is None else now
        for kind, state in list(self._kinds.items()):
            if now - state[0] >= 1.0 and self._kinds.pop(kind, None) is not None:
                self._report(kind, state)

    def _report(self, kind: tuple[str, ...], state: list[float]) -> None:
        if state[2]:
            log_event(
                "log_suppressed",
                logging.WARNING,
                of=kind[0],
                kind=list(kind[1:]),
                suppressed=int(state[2]),
            )

    def _flush_later(self, delay: float) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_later(max(delay, 0.0) + 0.01, self.flush)


refusals = LineBudget()


def flush_refusals() -> None:
    """Report every count held back, whether or not its second is over (at shutdown)."""
    refusals.flush(float("inf"))


def caller_value(value: object) -> object:
    """A value the caller chose, cut to CALLER_VALUE_CHARS (numbers and None as they are)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    return text if len(text) <= CALLER_VALUE_CHARS else text[:CALLER_VALUE_CHARS] + "…"


def log_refusal(event: str, level: int, reason: str, **caller_values: Any) -> None:
    """Log a refused request: `reason` is ours, every other value is cut (`caller_value`), and
    each event and reason gets at most `LineBudget.per_second` lines a second."""
    if logger.isEnabledFor(level) and refusals.allow((event, reason)):
        log_event(
            event,
            level,
            reason=reason,
            **{name: caller_value(value) for name, value in caller_values.items()},
        )


# Libraries that print request data (SQL parameters, URLs with patient ids) below WARNING.
CHATTY_LOGGERS = ("aiosqlite", "asyncpg", "sqlalchemy", "httpx", "httpcore", "hpack", "redis")


def pin_library_loggers() -> None:
    """Keep data-echoing library loggers at WARNING, whatever level the root logger gets."""
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


# Quoted values in a problem text (Python reprs) echo request input, which may be patient data.
_QUOTED = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")


def without_echoes(text: str) -> str:
    """A problem text fit for the log: every quoted value replaced by '…'."""
    return _QUOTED.sub("'…'", text)
