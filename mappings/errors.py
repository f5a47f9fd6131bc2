"""The errors raised on purpose: a data file that cannot be trusted, and a call that would cost
more than one call may."""

from __future__ import annotations


class DataError(Exception):
    """A malformed value-set file. Raised at load time, so a bad edit stops start-up loudly
    instead of silently mis-classifying patients."""

    def __init__(self, file: str, row: int | None, message: str) -> None:
        self.file = file
        self.row = row
        self.message = message
        where = f"{file}, row {row}" if row is not None else file
        super().__init__(f"{where}: {message}")


class TooCostly(Exception):
    """A hook call that would cost more than one call may (its free text, its draft orders to
    check): refused whole, with this message, rather than answered from part of it."""
