"""The issuance ledger: one row per card a hook call produced, shown or hidden by a snooze.

What a governance committee counts (which card kinds are shown, how often, how often hidden) and
nothing about the patient: the card's uuid (a one-way hash of patient, kind and evidence), its
kind and indicator, the service, the hook instance and the time. No patient id, no name, no free
text: the hook instance is kept as sent only when it is a UUID (as CDS Hooks says it is), else as
a hash of it. Same database as the feedback (SQLite by default, PostgreSQL for many replicas),
opened with the feedback store's durability settings.

Rows are buffered and written in one transaction a second (`flush`, by the governance loop, and
at shutdown), not during the hook call: a synchronous, fsync'd write would cost the call more than
its evaluation. So a crash (not a stop) can lose the last second of rows. The buffer is bounded:
while the database is down, rows beyond it are dropped and counted (`dropped`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from cards.model import Card
from service.store.schema import create_tables

metadata = MetaData()

issuance_table = Table(
    "card_issuance",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("card_uuid", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("indicator", String(16), nullable=False),
    Column("service_id", String(64), nullable=False),
    Column("hook_instance", String(80), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("suppressed", Boolean, nullable=False),
    Index("ix_card_issuance_issued_at", "issued_at"),
    Index("ix_card_issuance_card_uuid", "card_uuid"),
)

MAX_BUFFERED = 50_000
_FIELDS = (
    "card_uuid",
    "kind",
    "indicator",
    "service_id",
    "hook_instance",
    "issued_at",
    "suppressed",
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def hook_instance_key(value: object) -> str:
    """The hook instance as stored: the UUID itself, or a hash when a client sent other text."""
    text = str(value or "")
    if _UUID.match(text):
        return text.lower()
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def card_kind(card: Card) -> str:
    """The card's kind, the `source.topic` code every card of this service carries."""
    return card.source.topic.code if card.source.topic is not None else "unknown"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class IssuanceLedger:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        retention_days: int = 0,
        max_buffered: int = MAX_BUFFERED,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.engine = engine
        self.retention = timedelta(days=retention_days) if retention_days else None
        self.max_buffered = max_buffered
        self.dropped = 0
        self._clock = clock
        self._buffer: list[tuple[Any, ...]] = []

    @classmethod
    async def open(cls, engine: AsyncEngine, **options: Any) -> IssuanceLedger:
        """Create the table if it is missing (in the feedback store's database)."""
        await create_tables(engine, metadata.create_all)
        return cls(engine, **options)

    def record(
        self,
        service_id: str,
        hook_instance: object,
        shown: Iterable[Card],
        suppressed: Iterable[Card] = (),
        at: datetime | None = None,
    ) -> None:
        """Buffer one row per card; written by the next `flush`."""
        when = at or self._clock()
        instance = hook_instance_key(hook_instance)
        buffer = self._buffer
        for hidden, cards in ((False, shown), (True, suppressed)):
            for card in cards:
                if len(buffer) >= self.max_buffered:
                    self.dropped += 1
                    continue
                # a tuple of plain values: the collector stops tracking it
                buffer.append(
                    (
                        str(card.uuid),
                        card_kind(card),
                        card.indicator,
                        service_id,
                        instance,
                        when,
                        hidden,
                    )
                )

    @property
    def pending(self) -> int:
        return len(self._buffer)

    async def flush(self) -> int:
        """Write the buffered rows in one transaction; on failure they stay for the next try."""
        rows, self._buffer = self._buffer, []
        if not rows:
            return 0
        try:
            async with self.engine.begin() as conn:
                values = [dict(zip(_FIELDS, row, strict=True)) for row in rows]
                await conn.execute(insert(issuance_table), values)
        except (SQLAlchemyError, OSError):
            room = max(0, self.max_buffered - len(self._buffer))
            self.dropped += max(0, len(rows) - room)
            self._buffer[:0] = rows[:room]
            raise
        return len(rows)

    async def purge(self) -> int:
        """Delete the rows older than the retention period; returns how many."""
        if self.retention is None:
            return 0
        cutoff = self._clock() - self.retention
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(issuance_table).where(issuance_table.c.issued_at < cutoff)
            )
        return result.rowcount or 0

    async def all(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            result = await conn.execute(select(issuance_table).order_by(issuance_table.c.id))
            return [dict(row._mapping) for row in result]
