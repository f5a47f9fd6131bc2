"""Reading one data file of `mappings/data/`: its source line, its header, its rows.

Every file opens with `# source: <where the facts come from>; version: YYYY-MM-DD`; `#` lines
are comments. A problem raises `DataError` naming the file and line, so a bad edit stops
start-up instead of mis-classifying. The value sets (`mappings.loader`) and the safety tables
(`mappings.knowledge`) are read the same way.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from mappings.errors import DataError

SOURCE_LINE = re.compile(r"^#\s*source:\s*(?P<source>.+?)\s*;\s*version:\s*(?P<version>.+?)\s*$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row dict) for each data row; checks the source line and column counts."""
    name = path.name
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(name, None, f"cannot read: {exc}") from exc
    if not lines or not SOURCE_LINE.match(lines[0]):
        raise DataError(name, 1, "first line must be '# source: ...; version: YYYY-MM-DD'")
    header: list[str] | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            cells = next(csv.reader([line]))
        except csv.Error as exc:
            raise DataError(name, number, f"bad CSV: {exc}") from exc
        if header is None:
            header = [c.strip() for c in cells]
            continue
        if len(cells) != len(header):
            raise DataError(name, number, f"expected {len(header)} columns, found {len(cells)}")
        yield number, {h: c.strip() for h, c in zip(header, cells, strict=True)}
    if header is None:
        raise DataError(name, None, "no header row")


def header(path: Path) -> tuple[str, ...]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return tuple(c.strip() for c in next(csv.reader([line])))
    return ()


def require(path: Path, columns: tuple[str, ...]) -> None:
    """The file's header must be exactly `columns`."""
    found = header(path)
    if found != columns:
        raise DataError(path.name, None, f"header must be {','.join(columns)}; found {found}")


def source_line(path: Path) -> tuple[str, date]:
    """(source, version) from the file's first line."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = SOURCE_LINE.match(first)
    if match is None:  # pragma: no cover - rows() checks this first
        raise DataError(path.name, 1, "missing source line")
    try:
        version = date.fromisoformat(match["version"])
    except ValueError as exc:
        raise DataError(path.name, 1, f"version {match['version']!r} is not a date") from exc
    return match["source"], version


def reviewed(name: str, number: int, row: dict[str, str]) -> date:
    """A fact's review date; every fact row names its `source` and `reviewed` date."""
    for column in ("source", "reviewed"):
        if not row[column]:
            raise DataError(name, number, f"{column} is required: every fact cites its source")
    if not _DAY.match(row["reviewed"]):
        raise DataError(name, number, f"reviewed {row['reviewed']!r} is not YYYY-MM-DD")
    return date.fromisoformat(row["reviewed"])


__all__ = ["SOURCE_LINE", "header", "require", "reviewed", "rows", "source_line"]
