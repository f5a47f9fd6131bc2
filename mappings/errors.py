"""The one error `mappings` raises on purpose: a data file that cannot be trusted."""

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
