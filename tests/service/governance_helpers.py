"""Hook calls on sample patients and feedback about their cards, for the governance tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from service.cli.evaluate import request_from_bundle
from service.demo.samples import load_bundle

PV = "/cds-services/ms-back-pain-patient-view"
FEEDBACK = PV + "/feedback"


def sample_request(sample: str, *, patient_id: str | None = None) -> dict[str, Any]:
    """A patient-view call with the sample's chart as prefetch; `patient_id` renames the patient
    everywhere (card uuids include it, so a test on a shared database gets cards of its own)."""
    bundle = load_bundle(sample)
    if patient_id is not None:
        bundle = orjson.loads(orjson.dumps(bundle).replace(sample.encode(), patient_id.encode()))
    request = request_from_bundle(bundle, "patient-view")
    request["hookInstance"] = str(uuid.uuid4())
    return request


def cards_of(client: TestClient, request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Card kind -> card, from one hook call."""
    response = client.post(PV, json=request)
    assert response.status_code == 200, response.text
    return {c["source"]["topic"]["code"]: c for c in response.json()["cards"]}


def feedback_item(
    card: dict[str, Any], outcome: str, reason: str | None = None, at: datetime | None = None
) -> dict[str, Any]:
    """Feedback as an EHR sends it: an offered override reason (by code), or an acceptance."""
    item: dict[str, Any] = {
        "card": card["uuid"],
        "outcome": outcome,
        "outcomeTimestamp": (at or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
    }
    if outcome == "accepted":
        suggestions = card.get("suggestions") or [{"uuid": "no-suggestion-on-this-card"}]
        item["acceptedSuggestions"] = [{"id": suggestions[0]["uuid"]}]
    elif reason is not None:
        offered = {r["code"]: r for r in card.get("overrideReasons", [])}
        item["overrideReason"] = {
            "reason": offered.get(reason)
            or {
                "code": reason,
                "system": "https://ms-backpain-cds.example.org/CodeSystem/override-reason",
            }
        }
    return item


def send_feedback(client: TestClient, *items: dict[str, Any]) -> None:
    response = client.post(FEEDBACK, json={"feedback": list(items)})
    assert response.status_code == 200, response.text


# --- a seeded governance database -----------------------------------------------------------

SEED_END = date(2026, 11, 27)  # a Friday; the seed covers the eight weeks before it


@dataclass(frozen=True)
class Day:
    """What happened to one card kind on one day: the numbers the report must find."""

    kind: str
    indicator: str
    day: date
    shown: int
    suppressed: int = 0
    accepted: int = 0
    overrides: tuple[tuple[str, int], ...] = ()  # (reason as reported, count)

    @property
    def overridden(self) -> int:
        return sum(n for _, n in self.overrides)


def seed_days() -> list[Day]:
    """Eight weeks of a plausible service: one kind mostly accepted, one mostly overridden
    (a candidate for rewording), snoozes growing as clinicians use them."""
    out: list[Day] = []
    for week in range(8):
        monday = SEED_END - timedelta(days=SEED_END.weekday() + 7 * (7 - week))
        out += [
            Day(
                "first-line",
                "info",
                monday,
                40 + 3 * week,
                2 * week,
                14 + week,
                (("already-addressed", 6 + week), ("benefit-outweighs-risk", 2)),
            ),
            Day(
                "opioid-active",
                "warning",
                monday + timedelta(days=1),
                12,
                week // 2,
                2,
                (("patient-preference", 3), ("already-addressed", 4), ("none", 1)),
            ),
            Day(
                "chronic-care",
                "info",
                monday + timedelta(days=2),
                18 - week,
                week,
                6,
                (("already-addressed", 2),),
            ),
            Day(
                "red-flag",
                "critical",
                monday + timedelta(days=3),
                2 + week % 2,
                0,
                1,
                (("already-addressed", 1),) if week % 3 == 0 else (),
            ),
            Day(
                "nsaid-risk",
                "warning",
                monday + timedelta(days=4),
                9,
                1,
                5,
                (("benefit-outweighs-risk", 2), ("other", 1)),
            ),
            Day("spasticity", "info", monday + timedelta(days=1), 11, 0, 7, ()),
            Day(
                "imaging-not-indicated",
                "warning",
                monday + timedelta(days=3),
                6,
                0,
                1,
                (("ms-monitoring", 3), ("red-flag-not-recorded", 1)),
            ),
        ]
    return out


OVERRIDE_SYSTEM = "https://ms-backpain-cds.example.org/CodeSystem/override-reason"


async def seed(engine: AsyncEngine, days: list[Day] | None = None) -> list[Day]:
    """Write `days` as ledger and feedback rows, plus one feedback row for a card the ledger
    does not know (it counts under `unknown`: accepted, on SEED_END)."""
    from service.store.feedback import feedback_table
    from service.store.ledger import issuance_table, metadata

    days = seed_days() if days is None else days
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    ledger_rows: list[dict[str, Any]] = []
    feedback_rows: list[dict[str, Any]] = []
    for d in days:
        at = datetime.combine(d.day, datetime.min.time(), UTC) + timedelta(hours=10)
        uuids = [
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"{d.kind}/{d.day}/{i}")) for i in range(d.shown)
        ]
        for i, hidden in [(i, False) for i in range(d.shown)] + [
            (i, True) for i in range(d.suppressed)
        ]:
            ledger_rows.append(
                {
                    "card_uuid": uuids[i] if not hidden else uuids[i % max(d.shown, 1)],
                    "kind": d.kind,
                    "indicator": d.indicator,
                    "service_id": "ms-back-pain-patient-view",
                    "hook_instance": str(uuid.uuid4()),
                    "issued_at": at,
                    "suppressed": hidden,
                }
            )
        responses = [("accepted", None)] * d.accepted + [
            ("overridden", reason) for reason, n in d.overrides for _ in range(n)
        ]
        assert len(responses) <= d.shown, d
        for card, (outcome, reason) in zip(uuids, responses, strict=False):
            feedback_rows.append(_feedback_row(card, outcome, reason, at + timedelta(minutes=5)))
    stranger = datetime.combine(SEED_END, datetime.min.time(), UTC) + timedelta(hours=9)
    feedback_rows.append(_feedback_row(str(uuid.uuid4()), "accepted", None, stranger))
    async with engine.begin() as conn:
        await conn.execute(insert(issuance_table), ledger_rows)
        await conn.execute(insert(feedback_table), feedback_rows)
    return days


def _feedback_row(card: str, outcome: str, reason: str | None, at: datetime) -> dict[str, Any]:
    if reason is None or reason == "none":
        override = None if reason is None else {"userComment": "Oscar Petrov said no"}
    elif reason == "other":
        override = {"reason": {"code": "local-code", "system": "https://ehr.example/reasons"}}
    else:
        override = {"reason": {"code": reason, "system": OVERRIDE_SYSTEM}}
    return {
        "dedupe_key": uuid.uuid4().hex,
        "service_id": "ms-back-pain-patient-view",
        "card_uuid": card,
        "outcome": outcome,
        "accepted_suggestions": ["s-1"] if outcome == "accepted" else None,
        "override_reason": override,
        "outcome_timestamp": at,
        "received_at": at,
    }
