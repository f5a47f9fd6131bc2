"""Replicas starting together on an empty database all open their stores
(service/store/schema.py)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from service.store.feedback import FeedbackStore
from service.store.ledger import IssuanceLedger

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def _open_together(url: str, replicas: int = 4) -> None:
    async def one() -> None:
        store = await FeedbackStore.open(url)
        try:
            await IssuanceLedger.open(store.engine)
        finally:
            await store.close()

    await asyncio.gather(*(one() for _ in range(replicas)))


async def test_sqlite_replicas_starting_together_all_open(tmp_path):
    await _open_together(f"sqlite+aiosqlite:///{tmp_path / 'feedback.db'}")


@pytest.mark.postgres
async def test_postgres_replicas_starting_together_all_open():
    """Each round in a fresh schema, the only one on the search path of a role of its own."""
    admin = create_async_engine(PG_URL)
    try:
        async with admin.connect():
            pass
    except OSError as exc:  # pragma: no cover - depends on the machine
        await admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432: {exc}")
    role = f"schema_test_{uuid.uuid4().hex[:8]}"
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f"CREATE ROLE {role} LOGIN"))
            await conn.execute(text(f"GRANT CREATE ON DATABASE test TO {role}"))
            await conn.execute(text(f"ALTER ROLE {role} SET search_path = {role}"))
        url = f"postgresql+asyncpg://{role}@127.0.0.1:5432/test"
        for _ in range(3):  # the race is not certain on one try
            async with admin.begin() as conn:
                await conn.execute(text(f"DROP SCHEMA IF EXISTS {role} CASCADE"))
                await conn.execute(text(f"CREATE SCHEMA {role} AUTHORIZATION {role}"))
            await _open_together(url)
            async with admin.connect() as conn:
                found = await conn.execute(
                    text("SELECT count(*) FROM pg_tables WHERE schemaname = :s"), {"s": role}
                )
                assert found.scalar_one() >= 2
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {role} CASCADE"))
            await conn.execute(text(f"REVOKE CREATE ON DATABASE test FROM {role}"))
            await conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        await admin.dispose()
