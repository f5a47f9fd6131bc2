"""Suppression: a card a clinician decided on stays hidden for the snooze table's period, then
shows again; new evidence shows it at once; critical cards always show; replicas share it."""

from __future__ import annotations

import copy
import os
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cards import snooze
from cards.model import Card, Coding, Source
from cards.products import OVERRIDE_REASONS
from service.config import Settings
from service.governance.suppression import DAY_S, SuppressionView
from service.http.app import create_app
from service.protocol import FeedbackItem
from service.store.feedback import FeedbackStore
from tests.service.governance_helpers import (
    cards_of,
    feedback_item,
    sample_request,
    send_feedback,
)

DECISIONS = list(snooze.TABLE)
INFO, WARNING = "first-line", "opioid-active"  # the kinds on ms-opioid-benzo's chart
MINUTE = 60.0


def _decide(client: TestClient, cards: dict, decision: str) -> None:
    """Send `decision` on the info and the warning card, as an EHR would."""
    for kind in (INFO, WARNING):
        if decision == snooze.ACCEPTED:
            item = feedback_item(cards[kind], "accepted")
        elif decision == snooze.DISMISSED:
            item = feedback_item(cards[kind], "overridden")  # the Sandbox's dismiss: no reason
        else:
            item = feedback_item(cards[kind], "overridden", decision)
        send_feedback(client, item)


@pytest.mark.parametrize("decision", DECISIONS)
def test_each_decision_hides_the_card_for_its_period_then_shows_it(
    client: TestClient, decision: str
) -> None:
    request = sample_request("ms-opioid-benzo")
    cards = cards_of(client, request)
    assert {INFO, WARNING} <= cards.keys()
    decided = time.time()
    _decide(client, cards, decision)
    governance = client.app.state.governance
    for kind, indicator in ((INFO, "info"), (WARNING, "warning")):
        days = snooze.hide_days(decision, indicator)
        governance.clock = lambda: decided + MINUTE
        assert kind not in cards_of(client, request), f"{kind} shown right after {decision}"
        if days == snooze.UNTIL_EVIDENCE_CHANGES:
            governance.clock = lambda: decided + 3650 * DAY_S
            assert kind not in cards_of(client, request)
            continue
        governance.clock = lambda days=days: decided + days * DAY_S - MINUTE
        assert kind not in cards_of(client, request), f"{kind} shown before {days} days"
        governance.clock = lambda days=days: decided + days * DAY_S + MINUTE
        shown = cards_of(client, request)
        assert kind in shown, f"{kind} still hidden {days} days after {decision}"
        assert shown[kind]["uuid"] == cards[kind]["uuid"]  # the same card, shown again


def test_the_other_cards_still_show(client: TestClient) -> None:
    request = sample_request("ms-opioid-benzo")
    cards = cards_of(client, request)
    send_feedback(client, feedback_item(cards[INFO], "overridden", "already-addressed"))
    assert set(cards_of(client, request)) == set(cards) - {INFO}


def test_new_evidence_shows_the_card_again(client: TestClient) -> None:
    request = sample_request("ms-opioid-benzo")
    before = cards_of(client, request)[INFO]
    send_feedback(client, feedback_item(before, "overridden", "patient-preference"))
    assert INFO not in cards_of(client, request)

    changed = copy.deepcopy(request)
    entries = changed["prefetch"]["conditions"]["entry"]
    pain = next(e["resource"] for e in entries if e["resource"]["id"].endswith("-clbp"))
    entries.append({"resource": {**copy.deepcopy(pain), "id": "cond-new-back-pain-episode"}})
    after = cards_of(client, changed)
    assert INFO in after
    assert after[INFO]["uuid"] != before["uuid"]
    assert "cond-new-back-pain-episode" in after[INFO]["detail"]


def test_critical_cards_are_never_hidden(client: TestClient) -> None:
    request = sample_request("ms-cauda-equina")
    red_flag = cards_of(client, request)["red-flag"]
    assert red_flag["indicator"] == "critical"
    send_feedback(
        client,
        feedback_item(red_flag, "overridden", "already-addressed"),
        feedback_item(red_flag, "overridden", "benefit-outweighs-risk"),
        feedback_item(red_flag, "overridden"),
        feedback_item(red_flag, "accepted"),
    )
    client.portal.call(client.app.state.governance.suppression.rebuild)
    assert cards_of(client, request)["red-flag"]["uuid"] == red_flag["uuid"]


def test_each_offered_reason_says_how_long_it_hides(client: TestClient) -> None:
    cards = cards_of(client, sample_request("ms-opioid-benzo"))
    for kind, card in cards.items():
        for reason in card.get("overrideReasons", []):
            days = snooze.hide_days(reason["code"], card["indicator"])
            base = OVERRIDE_REASONS[reason["code"]].display
            assert reason["display"] == f"{base} — {snooze.period_words(days)}", kind
    red_flag = cards_of(client, sample_request("ms-cauda-equina"))["red-flag"]
    assert all(r["display"].endswith("not hidden (critical)") for r in red_flag["overrideReasons"])


def test_a_snooze_runs_from_the_decision_not_from_a_future_timestamp(client: TestClient) -> None:
    request = sample_request("ms-opioid-benzo")
    card = cards_of(client, request)[INFO]
    far = datetime.now(UTC) + timedelta(days=365)
    send_feedback(client, feedback_item(card, "overridden", "already-addressed", at=far))
    client.app.state.governance.clock = lambda: time.time() + 31 * DAY_S
    assert INFO in cards_of(client, request)


def test_suppression_can_be_turned_off(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"suppression": False}))) as client:
        request = sample_request("ms-opioid-benzo")
        card = cards_of(client, request)[INFO]
        send_feedback(client, feedback_item(card, "overridden", "already-addressed"))
        assert INFO in cards_of(client, request)


def test_a_replica_sees_the_feedback_another_stored(settings: Settings) -> None:
    """Two app instances on one SQLite file: B hides what A was told, once B has read it."""
    request = sample_request("ms-opioid-benzo")
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        card = cards_of(b, request)[INFO]
        send_feedback(a, feedback_item(card, "overridden", "already-addressed"))
        b.portal.call(b.app.state.governance.suppression.refresh)
        assert INFO not in cards_of(b, request)


# --- the view itself ------------------------------------------------------------------------


def _card(card_uuid: str, indicator: str) -> Card:
    topic = Coding(system="urn:test", code="test-kind")
    return Card(
        uuid=card_uuid, summary="s", indicator=indicator, source=Source(label="l", topic=topic)
    )


def _override(card_uuid: str, at: datetime) -> FeedbackItem:
    return FeedbackItem(card=card_uuid, outcome="overridden", outcomeTimestamp=at)


async def test_the_view_is_bounded_and_shows_what_it_cannot_hold(tmp_path: Path) -> None:
    store = await FeedbackStore.open(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}")
    try:
        now = datetime.now(UTC)
        await store.add("svc", [_override(f"card-{i}", now) for i in range(3)])
        view = SuppressionView(store.engine, max_entries=2)
        await view.rebuild()
        assert len(view) == 2 and view.overflow == 1
        cards = [_card(f"card-{i}", "info") for i in range(3)]
        shown, hidden = view.split(cards, now.timestamp() + MINUTE)
        assert len(shown) == 1 and len(hidden) == 2
    finally:
        await store.close()


async def test_a_refresh_reads_only_what_arrived_and_keeps_the_rest(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'f.db'}"
    here, there = await FeedbackStore.open(url), await FeedbackStore.open(url)
    try:
        now = datetime.now(UTC)
        await here.add("svc", [_override("early", now)])
        view = SuppressionView(here.engine)
        await view.rebuild()
        await there.add("svc", [_override("late", now)])
        t = now.timestamp() + MINUTE
        assert not view.hidden("late", "info", t)
        await view.refresh()
        assert view.hidden("early", "info", t) and view.hidden("late", "info", t)
        assert not view.hidden("late", "critical", t)
        # expired snoozes are not kept
        old = now - timedelta(days=8)
        await there.add("svc", [_override("expired", old)])
        await view.rebuild()
        assert "expired" not in view._until
    finally:
        await here.close()
        await there.close()


# --- two replicas on one PostgreSQL --------------------------------------------------------

PG_URL = os.environ.get("MSCDS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def pg_settings(settings: Settings) -> Iterator[Settings]:
    if not _postgres_reachable():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    yield settings.model_copy(update={"database_url": PG_URL, "suppression_refresh_s": 0.05})


@pytest.mark.postgres
def test_two_instances_on_one_postgres_see_each_others_feedback(pg_settings: Settings) -> None:
    # A patient of this run only: card uuids include the patient, the database is shared.
    request = sample_request("ms-opioid-benzo", patient_id=f"pg-{uuid.uuid4()}")
    with TestClient(create_app(pg_settings)) as a, TestClient(create_app(pg_settings)) as b:
        cards = cards_of(b, request)
        assert INFO in cards_of(a, request)
        send_feedback(a, feedback_item(cards[INFO], "overridden", "already-addressed"))
        assert INFO not in cards_of(a, request)  # at once where it arrived
        # B reads it in its background refresh (every 50 ms here): wait for that, not a time.
        deadline = time.monotonic() + 20
        while INFO in cards_of(b, request):
            assert time.monotonic() < deadline, "B never saw A's feedback"
            time.sleep(0.05)
        send_feedback(b, feedback_item(cards[WARNING], "overridden", "patient-preference"))
        b_now = time.time()
        deadline = time.monotonic() + 20
        while WARNING in cards_of(a, request):
            assert time.monotonic() < deadline, "A never saw B's feedback"
            time.sleep(0.05)
        a.app.state.governance.clock = lambda: b_now + 8 * DAY_S
        assert WARNING in cards_of(a, request)  # the warning's 7 days are over
