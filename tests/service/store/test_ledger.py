"""The issuance ledger: a row per card, shown or hidden, and nothing about the patient."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from cards.content import CARDS
from service.config import Settings
from service.demo.samples import sample_resources
from service.discovery import SERVICES
from service.http.app import create_app
from service.store.feedback import FeedbackStore
from service.store.ledger import IssuanceLedger, hook_instance_key
from tests.service.governance_helpers import (
    cards_of,
    feedback_item,
    sample_request,
    send_feedback,
)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
COLUMNS = {
    "id",
    "card_uuid",
    "kind",
    "indicator",
    "service_id",
    "hook_instance",
    "issued_at",
    "suppressed",
}


def ledger_rows(client: TestClient) -> list[dict]:
    ledger = client.app.state.governance.ledger
    client.portal.call(ledger.flush)
    return client.portal.call(ledger.all)


def _patient_words(sample: str) -> set[str]:
    """Everything that identifies the sample's patient: ids, names, birth date, MRN."""
    patient = sample_resources(sample)[0]
    words = {patient["id"], patient["birthDate"]}
    words |= {i["value"] for i in patient.get("identifier", [])}
    for name in patient.get("name", []):
        words |= {name.get("family", ""), *name.get("given", [])}
    return {w for w in words if w}


def test_no_patient_identifier_name_or_free_text_in_any_row(client: TestClient) -> None:
    samples = ("ms-opioid-benzo", "ms-cauda-equina", "ms-mixed-pain")
    shown = 0
    for sample in samples:
        request = sample_request(sample)
        request["context"]["userId"] = "Practitioner/dr-jane-example"
        shown += len(cards_of(client, request))
    rows = ledger_rows(client)
    assert len(rows) == shown > 0
    identifying = set().union(*(_patient_words(s) for s in samples))
    identifying |= {"dr-jane-example", "Practitioner"}
    for row in rows:
        assert set(row) == COLUMNS
        assert UUID.match(row["card_uuid"])
        assert row["kind"] in CARDS
        assert row["indicator"] in ("info", "warning", "critical")
        assert row["service_id"] in SERVICES
        assert UUID.match(row["hook_instance"])
        assert isinstance(row["issued_at"], datetime)
        assert row["suppressed"] is False
        for value in row.values():
            for word in identifying:
                assert word.lower() not in str(value).lower(), (word, row)


def test_a_hook_instance_that_is_not_a_uuid_is_stored_as_a_hash(client: TestClient) -> None:
    request = sample_request("ms-opioid-benzo")
    request["hookInstance"] = "Oscar Petrov 1976-04-26 chart open"
    cards_of(client, request)
    rows = ledger_rows(client)
    assert rows and {r["hook_instance"] for r in rows} == {
        hook_instance_key("Oscar Petrov 1976-04-26 chart open")
    }
    assert rows[0]["hook_instance"].startswith("sha256:")
    assert "Oscar" not in rows[0]["hook_instance"]


def test_a_hidden_card_is_recorded_as_suppressed(client: TestClient) -> None:
    request = sample_request("ms-opioid-benzo")
    cards = cards_of(client, request)
    send_feedback(client, feedback_item(cards["first-line"], "overridden", "already-addressed"))
    second = cards_of(client, request)
    rows = ledger_rows(client)
    last = [r for r in rows if r["hook_instance"] == request["hookInstance"]][-len(cards) :]
    assert {(r["kind"], r["suppressed"]) for r in last} == {
        *((kind, False) for kind in second),
        ("first-line", True),
    }


def test_rows_are_written_at_shutdown_and_survive_a_restart(settings: Settings) -> None:
    with TestClient(create_app(settings)) as first:
        shown = cards_of(first, sample_request("ms-opioid-benzo"))
    with TestClient(create_app(settings)) as second:
        rows = second.portal.call(second.app.state.governance.ledger.all)
    assert sorted(r["card_uuid"] for r in rows) == sorted(c["uuid"] for c in shown.values())


async def test_rows_past_the_retention_period_are_deleted(tmp_path: Path) -> None:
    store = await FeedbackStore.open(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    ledger = await IssuanceLedger.open(store.engine, retention_days=30, clock=lambda: now)
    try:
        card = _any_card()
        ledger.record("svc", "h", [card], at=now - timedelta(days=31))
        ledger.record("svc", "h", [card], at=now - timedelta(days=29))
        assert await ledger.flush() == 2
        assert await ledger.purge() == 1
        (kept,) = await ledger.all()
        assert kept["issued_at"].replace(tzinfo=UTC) == now - timedelta(days=29)
    finally:
        await store.close()


async def test_a_failed_write_keeps_the_rows_for_the_next_and_the_buffer_is_bounded(
    tmp_path: Path,
) -> None:
    store = await FeedbackStore.open(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}")
    ledger = await IssuanceLedger.open(store.engine, max_buffered=3)
    try:
        card = _any_card()
        async with store.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE card_issuance RENAME TO away"))
        ledger.record("svc", "h", [card, card])
        with pytest.raises(Exception, match="card_issuance"):
            await ledger.flush()
        assert ledger.pending == 2
        ledger.record("svc", "h", [card, card])
        assert ledger.pending == 3 and ledger.dropped == 1
        async with store.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE away RENAME TO card_issuance"))
        assert await ledger.flush() == 3
        assert len(await ledger.all()) == 3 and ledger.pending == 0
    finally:
        await store.close()


def _any_card():
    from cards.model import Card, Coding, Source

    topic = Coding(system="urn:test", code="first-line")
    return Card(
        uuid="6f3c7a52-2b8e-5d43-9a0f-1c2d3e4f5a6b",
        summary="s",
        indicator="info",
        source=Source(label="l", topic=topic),
    )
