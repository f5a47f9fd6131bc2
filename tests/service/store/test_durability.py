"""Feedback acknowledged with a 200 survives a SIGKILL of the server, stored exactly once.

A real server subprocess, concurrent clients, SIGKILL while posts are in flight, restart, count
the rows. SQLite (WAL, synchronous=FULL) always; PostgreSQL when one is reachable. Bigger runs:
`scripts/durability.py`.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.fixtures.reliability.durability import run

PG_URL = os.environ.get("MSCDS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


async def test_sqlite_keeps_every_acknowledged_item_exactly_once(tmp_path: Path) -> None:
    report = await run(tmp_path, clients=12, kill_after=120)
    print("\n" + "\n".join(report.lines()))
    assert report.acknowledged >= 120
    assert report.acknowledged_missing == []
    assert report.duplicates == []
    assert report.stored_after_restart >= report.acknowledged
    assert report.stored_after_resend == report.sent
    assert report.lost_after_resend == []


@pytest.mark.postgres
@pytest.mark.skipif(
    not _postgres_reachable(), reason="PostgreSQL is not reachable on 127.0.0.1:5432"
)
async def test_postgres_keeps_every_acknowledged_item_exactly_once(tmp_path: Path) -> None:
    report = await run(tmp_path, database_url=PG_URL, clients=12, kill_after=120)
    print("\n" + "\n".join(report.lines()))
    assert report.acknowledged >= 120
    assert report.acknowledged_missing == []
    assert report.duplicates == []
    assert report.stored_after_restart >= report.acknowledged
    assert report.stored_after_resend == report.sent
    assert report.lost_after_resend == []
