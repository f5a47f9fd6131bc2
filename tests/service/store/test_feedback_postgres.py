"""The feedback store against a real PostgreSQL, when one is reachable."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from datetime import UTC, datetime

import pytest

from service.protocol import FeedbackItem
from service.store.feedback import FeedbackStore

PG_URL = os.environ.get("MSCDS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _reachable(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not _reachable(), reason="PostgreSQL is not reachable on 127.0.0.1:5432"),
]


def _driver_url() -> str:
    return PG_URL.replace("postgresql://", "postgresql+asyncpg://", 1)


def _item(card: str) -> FeedbackItem:
    return FeedbackItem(
        card=card,
        outcome="accepted",
        acceptedSuggestions=[{"id": "s-1"}],
        outcomeTimestamp=datetime.now(UTC),
    )


async def test_postgres_store_is_durable_and_idempotent() -> None:
    service_id = f"pg-test-{uuid.uuid4()}"  # isolates this run's rows in a shared database
    store = await FeedbackStore.open(_driver_url())
    try:
        items = [_item("card-a"), _item("card-b")]
        assert await store.add(service_id, items) == 2
        assert await store.add(service_id, items) == 0  # repeats stored once
    finally:
        await store.close()

    reopened = await FeedbackStore.open(_driver_url())
    try:
        rows = await reopened.all(service_id)
        assert [r["card_uuid"] for r in rows] == ["card-a", "card-b"]
        assert rows[0]["accepted_suggestions"] == ["s-1"]
        assert await reopened.ping()
    finally:
        await reopened.close()


async def test_postgres_concurrent_duplicates_store_once() -> None:
    service_id = f"pg-test-{uuid.uuid4()}"
    store = await FeedbackStore.open(_driver_url())
    try:
        item = _item("card-race")
        results = await asyncio.gather(*(store.add(service_id, [item]) for _ in range(8)))
        assert sum(results) == 1
        assert len(await store.all(service_id)) == 1
    finally:
        await store.close()
