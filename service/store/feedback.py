"""Durable, idempotent storage of card feedback (SQLite by default, PostgreSQL for many replicas).

Clients may send the same feedback more than once (retries, several hook instances), so each item
is keyed by a hash of its content: a repeat is stored once. A batch is written in one transaction,
so a bad batch stores nothing. SQLite runs in WAL mode with `synchronous=FULL`: once the service
has answered 200, the rows survive a crash of the process or the machine.

With a retention period, rows received longer ago are deleted when the store opens and then with
a write at most once an hour (an indexed range delete), so no job outside the service is needed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    event,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.protocol import FeedbackItem
from service.store.schema import create_tables

metadata = MetaData()

feedback_table = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(64), nullable=False, unique=True),
    Column("service_id", Text, nullable=False),
    Column("card_uuid", Text, nullable=False, index=True),
    Column("outcome", String(16), nullable=False),
    Column("accepted_suggestions", JSON, nullable=True),
    Column("override_reason", JSON, nullable=True),
    Column("outcome_timestamp", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)
# Created on its own (checkfirst), so that tables made before it existed get it too.
received_at_index = Index("ix_feedback_received_at", feedback_table.c.received_at)

PURGE_EVERY = timedelta(hours=1)


def dedupe_key(service_id: str, item: FeedbackItem) -> str:
    """Same service, card, outcome, suggestions, reason and timestamp: the same feedback."""
    canonical = orjson.dumps(
        [service_id, item.model_dump(mode="json", exclude_none=True)],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest()


class StoreUnavailable(Exception):
    """The database could not be reached or refused the write; the client may retry."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FeedbackStore:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        retention_days: int = 0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.engine = engine
        self._insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        self.retention = timedelta(days=retention_days) if retention_days else None
        self._clock = clock
        self._purged_at: datetime | None = None

    @classmethod
    async def open(
        cls, url: str, *, retention_days: int = 0, clock: Callable[[], datetime] = _utc_now
    ) -> FeedbackStore:
        """Connect, create the table if it is missing, and delete rows past the retention period
        (`retention_days`; 0 keeps them for ever)."""
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_pre_ping=True)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_durability)
        store = cls(engine, retention_days=retention_days, clock=clock)
        await create_tables(
            engine,
            metadata.create_all,
            lambda sync: received_at_index.create(sync, checkfirst=True),
        )
        if store.retention is not None:
            await store.purge()
        return store

    async def purge(self) -> int:
        """Delete the rows received before the retention period; returns how many."""
        if self.retention is None:
            return 0
        now = self._clock()
        cutoff = now - self.retention
        try:
            async with self.engine.begin() as conn:
                result = await conn.execute(
                    delete(feedback_table).where(feedback_table.c.received_at < cutoff)
                )
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(type(exc).__name__) from exc
        self._purged_at = now
        return result.rowcount or 0

    async def add(self, service_id: str, items: list[FeedbackItem]) -> int:
        """Store a batch in one transaction; returns how many items were new."""
        now = self._clock()
        if self.retention is not None and (
            self._purged_at is None or now - self._purged_at >= PURGE_EVERY
        ):
            await self.purge()
        rows = [
            {
                "dedupe_key": dedupe_key(service_id, item),
                "service_id": service_id,
                "card_uuid": item.card,
                "outcome": item.outcome,
                "accepted_suggestions": (
                    [s.id for s in item.acceptedSuggestions] if item.acceptedSuggestions else None
                ),
                "override_reason": (
                    item.overrideReason.model_dump(mode="json", exclude_none=True)
                    if item.overrideReason
                    else None
                ),
                "outcome_timestamp": item.outcomeTimestamp,
                "received_at": now,
            }
            for item in items
        ]
        new = 0
        try:
            async with self.engine.begin() as conn:
                for row in rows:
                    stmt = self._insert(feedback_table).values(**row)
                    result = await conn.execute(
                        stmt.on_conflict_do_nothing(index_elements=["dedupe_key"])
                    )
                    new += result.rowcount or 0
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(type(exc).__name__) from exc
        return new

    async def all(self, service_id: str | None = None) -> list[dict[str, Any]]:
        query = select(feedback_table).order_by(feedback_table.c.id)
        if service_id is not None:
            query = query.where(feedback_table.c.service_id == service_id)
        async with self.engine.connect() as conn:
            result = await conn.execute(query)
            return [dict(row._mapping) for row in result]

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self.engine.dispose()


def _sqlite_durability(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
