"""Feedback is bounded: items per request, field sizes, items per client per minute, and how
long rows are kept (SQLite, and the real PostgreSQL when it is reachable)."""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from starlette.requests import Request

from service.auth.verifier import Client
from service.config import Settings
from service.http.app import create_app, feedback_client
from service.http.rate_limit import TokenBuckets
from service.protocol import MAX_COMMENT_CHARS, MAX_FEEDBACK_ITEMS, FeedbackItem
from service.store.feedback import FeedbackStore, feedback_table
from tests.service.auth_helpers import BASE, FEEDBACK, ISS, bearer, ec_key, jwks, token
from tests.service.store.test_feedback_postgres import PG_URL


def item(n: int = 0, comment: str = "Discussed with the patient.") -> dict:
    return {
        "card": f"card-{n}",
        "outcome": "overridden",
        "overrideReason": {"userComment": comment},
        "outcomeTimestamp": "2026-11-20T10:06:00Z",
    }


def rows(client: TestClient) -> list[dict]:
    return client.portal.call(client.app.state.store.all)


def diagnostics(response) -> str:
    return response.json()["issue"][0]["diagnostics"]


# --- per request --------------------------------------------------------------------------------


def test_a_full_batch_is_stored_and_one_more_item_refuses_it(client: TestClient) -> None:
    too_many = [item(n) for n in range(MAX_FEEDBACK_ITEMS + 1)]
    refused = client.post(FEEDBACK, json={"feedback": too_many})
    assert refused.status_code == 400
    assert diagnostics(refused).startswith("feedback:")
    assert f"at most {MAX_FEEDBACK_ITEMS} items" in diagnostics(refused)
    assert rows(client) == []
    stored = client.post(FEEDBACK, json={"feedback": too_many[:MAX_FEEDBACK_ITEMS]})
    assert stored.json() == {"received": MAX_FEEDBACK_ITEMS, "stored": MAX_FEEDBACK_ITEMS}
    assert len(rows(client)) == MAX_FEEDBACK_ITEMS


def test_a_comment_over_the_limit_is_refused_by_name_and_nothing_is_stored(
    client: TestClient,
) -> None:
    longest = "x" * MAX_COMMENT_CHARS
    batch = [item(0, longest), item(1, longest + "y")]
    refused = client.post(FEEDBACK, json={"feedback": batch})
    assert refused.status_code == 400
    assert diagnostics(refused) == (
        f"feedback.1.overrideReason.userComment: String should have at most "
        f"{MAX_COMMENT_CHARS} characters"
    )
    assert "xxxx" not in refused.text  # the value is not echoed
    assert rows(client) == []
    assert client.post(FEEDBACK, json={"feedback": batch[:1]}).status_code == 200
    (row,) = rows(client)
    assert row["override_reason"]["userComment"] == longest  # kept whole, not cut


def test_too_many_accepted_suggestions_are_refused(client: TestClient) -> None:
    accepted = {
        "card": "card-a",
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": f"s-{n}"} for n in range(21)],
        "outcomeTimestamp": "2026-11-20T10:06:00Z",
    }
    refused = client.post(FEEDBACK, json={"feedback": [accepted]})
    assert refused.status_code == 400
    assert diagnostics(refused).startswith("feedback.0.acceptedSuggestions:")


# --- per client per minute ----------------------------------------------------------------------


def test_a_client_over_its_rate_gets_429_with_retry_after(settings: Settings) -> None:
    limited = settings.model_copy(update={"feedback_rate": 60})
    with TestClient(create_app(limited)) as client:
        first = [item(n) for n in range(MAX_FEEDBACK_ITEMS)]
        assert client.post(FEEDBACK, json={"feedback": first}).status_code == 200
        second = [item(100 + n) for n in range(20)]  # 10 left in the bucket (and ~1 refilled)
        refused = client.post(FEEDBACK, json={"feedback": second})
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 20
        assert refused.json()["issue"][0]["code"] == "throttled"
        assert "60 feedback items a minute" in diagnostics(refused)
        assert len(rows(client)) == MAX_FEEDBACK_ITEMS  # the refused batch stored nothing
        assert client.post(FEEDBACK, json={"feedback": second[:5]}).status_code == 200
        assert len(rows(client)) == MAX_FEEDBACK_ITEMS + 5


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        (Client(iss=ISS, tenant="t-1", sub="ehr-a"), f"jwt {ISS} ehr-a"),
        (Client(iss=ISS, tenant=None), f"jwt {ISS} "),
        (None, "addr 10.0.0.2"),  # MSCDS_AUTH=off: the peer address
    ],
)
def test_whom_the_rate_limit_counts(client: Client | None, expected: str) -> None:
    request = Request({"type": "http", "headers": [], "client": ("10.0.0.2", 40000)})
    if client is not None:
        request.state.client = client
    assert feedback_client(request) == expected


def test_with_jwt_the_client_is_its_issuer_and_subject(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        auth="jwt",
        public_base_url=BASE,
        trusted_issuers=[{"iss": ISS, "jwks": jwks(ec_key())}],
        feedback_rate=MAX_FEEDBACK_ITEMS,
    )
    batch = {"feedback": [item(n) for n in range(MAX_FEEDBACK_ITEMS)]}

    def send(sub: str, card_offset: int) -> int:
        body = {
            "feedback": [
                {**i, "card": f"{sub}-{card_offset}-{i['card']}"} for i in batch["feedback"]
            ]
        }
        return client.post(
            FEEDBACK, json=body, headers=bearer(token(FEEDBACK, sub=sub))
        ).status_code

    with TestClient(create_app(settings)) as client:
        assert send("ehr-a", 0) == 200
        assert send("ehr-a", 1) == 429  # a new token, the same client
        assert send("ehr-b", 0) == 200  # same issuer, another client


def test_rate_zero_means_no_limit(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"feedback_rate": 0}))) as client:
        for round_ in range(4):
            batch = [item(round_ * 100 + n) for n in range(MAX_FEEDBACK_ITEMS)]
            assert client.post(FEEDBACK, json={"feedback": batch}).status_code == 200


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_buckets_refill_at_the_rate_and_hold_at_most_the_burst() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=60, clock=clock)
    assert buckets.take("a", 60) == 0
    assert buckets.take("a", 1) == pytest.approx(1.0)  # one a second
    clock.now += 10
    assert buckets.take("a", 10) == 0
    assert buckets.take("a", 1) > 0
    clock.now += 3600  # an hour idle refills only up to the burst
    assert buckets.take("a", 60) == 0
    assert buckets.take("a", 1) > 0
    assert buckets.take("b", 60) == 0  # each client its own


def test_buckets_forget_the_client_seen_longest_ago_beyond_their_bound() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=60, max_clients=3, clock=clock)
    for name in ("a", "b", "c"):
        assert buckets.take(name, 60) == 0
    assert buckets.take("a", 1) > 0  # "a" is now the most recently used
    assert buckets.take("d", 60) == 0  # "b" is forgotten
    assert len(buckets) == 3
    assert buckets.take("c", 1) > 0  # still remembered: empty
    assert buckets.take("b", 60) == 0  # forgotten: a full bucket again


# --- retention ----------------------------------------------------------------------------------


def _pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(
                    not _pg_reachable(), reason="PostgreSQL is not reachable on 127.0.0.1:5432"
                ),
            ],
        ),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'feedback.db'}"
    return PG_URL.replace("postgresql://", "postgresql+asyncpg://", 1)


class Days:
    """A clock for the store, far in the past so that purging in a shared PostgreSQL database
    touches only the rows this test wrote."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) - timedelta(days=3000)

    def __call__(self) -> datetime:
        return self.now


def feedback(card: str) -> FeedbackItem:
    return FeedbackItem(
        card=card,
        outcome="overridden",
        outcomeTimestamp=datetime.now(UTC),
        overrideReason={"userComment": "c"},
    )


async def test_rows_past_retention_are_deleted_on_open_and_on_write(database_url: str) -> None:
    service_id = f"retention-{uuid.uuid4()}"
    clock = Days()
    store = await FeedbackStore.open(database_url, retention_days=30, clock=clock)
    try:
        assert await store.add(service_id, [feedback("old")]) == 1
        clock.now += timedelta(days=20)
        assert await store.add(service_id, [feedback("newer")]) == 1
        clock.now += timedelta(days=15)  # "old" is 35 days old, "newer" 15
        assert await store.add(service_id, [feedback("newest")]) == 1  # purges first
        assert [r["card_uuid"] for r in await store.all(service_id)] == ["newer", "newest"]
        clock.now += timedelta(minutes=30)  # within the hour: writing does not purge again
        assert await store.add(service_id, [feedback("same-hour")]) == 1
    finally:
        await store.close()

    clock.now += timedelta(days=20)  # "newer" is 35 days old
    reopened = await FeedbackStore.open(database_url, retention_days=30, clock=clock)
    try:
        cards = [r["card_uuid"] for r in await reopened.all(service_id)]
        assert cards == ["newest", "same-hour"]
    finally:
        await reopened.close()

    kept = await FeedbackStore.open(database_url, retention_days=0, clock=clock)
    try:
        clock.now += timedelta(days=400)
        assert await kept.add(service_id, [feedback("forever")]) == 1
        assert len(await kept.all(service_id)) == 3  # 0: kept for ever
        assert await kept.purge() == 0
        async with kept.engine.begin() as conn:  # a shared PostgreSQL keeps no test rows
            await conn.execute(
                delete(feedback_table).where(feedback_table.c.service_id == service_id)
            )
    finally:
        await kept.close()


def test_the_service_deletes_old_rows_when_it_starts(settings: Settings, tmp_path: Path) -> None:
    import asyncio

    clock = Days()

    async def write_old_rows() -> None:
        store = await FeedbackStore.open(settings.async_database_url, clock=clock)
        await store.add("ms-back-pain-patient-view", [feedback("two-years-old")])
        clock.now = datetime.now(UTC) - timedelta(days=10)
        await store.add("ms-back-pain-patient-view", [feedback("ten-days-old")])
        await store.close()

    asyncio.run(write_old_rows())
    with TestClient(create_app(settings.model_copy(update={"feedback_retention_days": 365}))) as c:
        assert [r["card_uuid"] for r in rows(c)] == ["ten-days-old"]
