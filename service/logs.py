"""Structured logging: one JSON object per line, and nothing that identifies a patient.

Call sites pass explicit fields (`log_event`); nothing logs a request body, a header or an
exception message, because those are where tokens and patient data hide.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import orjson

LOGGER_NAME = "ms_backpain_cds"
logger = logging.getLogger(LOGGER_NAME)


_second: tuple[int, str] = (-1, "")  # the last whole second formatted, and its text


def _timestamp(created: float) -> str:
    """ISO 8601 in UTC to the millisecond; the date and time are formatted once per second
    (a third of the formatter's cost when formatted per line)."""
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
        return _json_line(
            record.created,
            record.levelname.lower(),
            record.getMessage(),
            getattr(record, "fields", None),
        )


class JsonLines(logging.StreamHandler):  # type: ignore[type-arg]
    """The service's own handler: JSON lines on stderr."""

    _mscds = True

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(JsonFormatter())

    def write_event(self, level: int, event: str, fields: dict[str, Any]) -> None:
        """What `emit` writes for a record of `log_event`, without building the record.

        In a loaded server the LogRecord and the logging calls around it cost about 0.03 ms of
        a 0.5 ms hook call (bench/asgi.py, log level INFO against WARNING), three times what
        they cost in a tight loop, because every call finds them out of the CPU's caches.
        """
        text = _json_line(time.time(), logging.getLevelName(level).lower(), event, fields)
        try:
            with self.lock:  # type: ignore[union-attr]
                self.stream.write(text + self.terminator)
                self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr must not fail the request
            pass


def configure(level: str = "INFO") -> None:
    """Send our logger's records to stderr as JSON lines (idempotent)."""
    logger.setLevel(level)
    logger.propagate = False
    if not any(getattr(h, "_mscds", False) for h in logger.handlers):
        logger.addHandler(JsonLines())


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
