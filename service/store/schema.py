"""Creating the service's tables when replicas start together on an empty database.

`metadata.create_all` checks for a table, then creates it: two processes starting at once both
see it missing and the second fails ("already exists", or PostgreSQL's unique violation on its
catalogue). On PostgreSQL the creation runs under a transaction-scoped advisory lock, so the
replicas take turns and the later ones find the tables made; SQLite has no such lock, so a
creation that lost the race is tried again, and then finds the tables.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

# pg_advisory_xact_lock key: any fixed 64-bit number, the same in every replica.
_LOCK_KEY = 0x6D73_6364_735F_6462  # "mscds_db"
_ATTEMPTS = 3


async def create_tables(engine: AsyncEngine, *steps: Callable[[Connection], object]) -> None:
    """Run each creation step (e.g. `metadata.create_all`) in one transaction, safely beside
    other replicas doing the same."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            async with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY}
                    )
                for step in steps:
                    await conn.run_sync(step)
            return
        except DBAPIError as exc:
            if attempt == _ATTEMPTS or not _lost_race(exc):
                raise


def _lost_race(exc: DBAPIError) -> bool:
    message = str(exc.orig if exc.orig is not None else exc).lower()
    return "already exists" in message or "duplicate key" in message
