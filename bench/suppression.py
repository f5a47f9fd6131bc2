"""What suppression adds to a hook call: the snooze lookup, in-process, against a realistic view.

    .venv/bin/python bench/suppression.py [--calls 10000] [--feedback 50000]

Fills a temporary SQLite feedback table with `--feedback` rows (a busy service's year: overrides
with every reason, dismissals and acceptances, received over the last 120 days, so some snoozes
are over), reads it into a `SuppressionView` as a replica does at start-up, then answers
`--calls` hook calls in-process (`pipeline.answer` and `response_body`, as bench/identical.py
does; no HTTP), alternating two patients of sample charts: one whose cards are all snoozed, one
whose cards are not. Three ways, taking turns call by call so that drift on a shared machine hits
each alike:

- `none`: no suppression (MSCDS_SUPPRESSION=off, and no ledger or metrics);
- `suppression`: `SuppressionView.split` on the call's cards;
- `governance`: all `Governance.screen` does on a call (split, issuance ledger, metrics).

Prints the median and mean time per call for each, the difference to `none`, and the time of the
steps alone (timed around them, which is what they add), then one incremental refresh (the
database read each replica makes every second) and one full rebuild of the view.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cards import snooze
from cards.model import response_body
from cards.products import OVERRIDE_SYSTEM
from service import collector, pipeline
from service.cli.evaluate import request_from_bundle
from service.demo.samples import load_bundle
from service.discovery import SERVICES
from service.governance.records import Governance
from service.governance.suppression import SuppressionView
from service.metrics import Metrics
from service.store.feedback import FeedbackStore, feedback_table
from service.store.ledger import IssuanceLedger

SERVICE = SERVICES["ms-back-pain-patient-view"]
SAMPLE = "ms-mixed-pain"  # four info cards on patient-view


def _complete(coroutine: Any) -> Any:
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the coroutine suspended")


def _body(patient_id: str) -> bytes:
    bundle = load_bundle(SAMPLE)
    bundle = orjson.loads(orjson.dumps(bundle).replace(SAMPLE.encode(), patient_id.encode()))
    return orjson.dumps(request_from_bundle(bundle, "patient-view"))


def _answer(body: bytes) -> list[Any]:
    return _complete(pipeline.answer(SERVICE, body, None, log={}, offline=True))


def _feedback_rows(n: int, snoozed: list[str], now: datetime) -> list[dict[str, Any]]:
    rng = random.Random(20)
    reasons = [r for r in snooze.TABLE if r not in (snooze.ACCEPTED, snooze.DISMISSED)]
    rows = []
    for i in range(n):
        card = snoozed[i] if i < len(snoozed) else str(uuid.uuid4())
        at = now - timedelta(minutes=1 if i < len(snoozed) else rng.uniform(0, 120 * 24 * 60))
        kind = rng.random()
        outcome = "accepted" if kind < 0.2 else "overridden"
        reason = None
        if outcome == "overridden" and kind > 0.35:
            reason = {"reason": {"code": rng.choice(reasons), "system": OVERRIDE_SYSTEM}}
        rows.append(
            {
                "dedupe_key": uuid.uuid4().hex,
                "service_id": SERVICE.id,
                "card_uuid": card,
                "outcome": outcome,
                "accepted_suggestions": ["s"] if outcome == "accepted" else None,
                "override_reason": reason if i >= len(snoozed) else None,
                "outcome_timestamp": at,
                "received_at": at,
            }
        )
    return rows


def _time_call(
    body: bytes, step: Callable[[list[Any], dict[str, object]], list[Any]] | None
) -> tuple[float, float]:
    """One call: the whole of it, and the step alone."""
    log: dict[str, object] = {"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"}
    started = time.perf_counter()
    cards = _answer(body)
    before = time.perf_counter()
    if step is not None:
        cards = step(cards, log)
    after = time.perf_counter()
    response_body(cards)
    return time.perf_counter() - started, after - before


async def _setup(
    feedback: int, snoozed: list[str], tmp: Path
) -> tuple[SuppressionView, IssuanceLedger, float, list[float]]:
    """The view as a replica reads it at start-up, and the times of that and of refreshes."""
    store = await FeedbackStore.open(f"sqlite+aiosqlite:///{tmp / 'feedback.db'}")
    try:
        rows = _feedback_rows(feedback, snoozed, datetime.now(UTC))
        async with store.engine.begin() as conn:
            for start in range(0, len(rows), 5000):
                await conn.execute(insert(feedback_table), rows[start : start + 5000])
        view = SuppressionView(store.engine)
        started = time.perf_counter()
        await view.rebuild()
        rebuild_ms = (time.perf_counter() - started) * 1000
        refreshes = []
        for _ in range(20):
            started = time.perf_counter()
            await view.refresh()
            refreshes.append((time.perf_counter() - started) * 1000)
        ledger = await IssuanceLedger.open(store.engine)
    finally:
        await store.close()
    return view, ledger, rebuild_ms, refreshes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--feedback", type=int, default=50_000)
    args = parser.parse_args()

    bodies = [_body("bench-snoozed"), _body("bench-fresh")]
    first = _answer(bodies[0])
    snoozed = [c.uuid for c in first]
    assert snoozed and all(c.indicator != "critical" for c in first)
    with tempfile.TemporaryDirectory() as tmp:
        view, ledger, rebuild_ms, refreshes = asyncio.run(_setup(args.feedback, snoozed, Path(tmp)))
    # Hook calls are timed outside an event loop: `pipeline.answer` then evaluates inline.
    governance = Governance(ledger, view, Metrics())
    assert not view.split(_answer(bodies[0]), time.time())[0], "the first patient is not snoozed"

    def suppress(cards: list[Any], log: dict[str, object]) -> list[Any]:
        return view.split(cards, time.time())[0]

    def screen(cards: list[Any], log: dict[str, object]) -> list[Any]:
        return governance.screen(SERVICE.id, cards, log=log)

    ways = {"none": None, "suppression": suppress, "governance": screen}
    whole: dict[str, list[float]] = {w: [] for w in ways}
    alone: dict[str, list[float]] = {w: [] for w in ways}
    for _ in range(3):  # warm-up: classify's memos, the first calls' allocations
        _answer(bodies[0])
    # As the app does at start-up (service/collector.py): start-up objects frozen, few collections.
    collector.settle()
    for i in range(args.calls):
        order = list(ways.items())
        order = order[i % 3 :] + order[: i % 3]  # each way first as often as the others
        for way, step in order:
            w, a = _time_call(bodies[i % 2], step)
            whole[way].append(w)
            alone[way].append(a)
        if len(ledger._buffer) >= 4000:
            ledger._buffer.clear()  # the governance loop writes them every second

    base = statistics.median(whole["none"]) * 1000
    print(
        f"{len(whole['none'])} calls per way, {SAMPLE} on patient-view "
        f"({len(snoozed)} cards; every other call's all snoozed), "
        f"{args.feedback:,} feedback rows, {len(view):,} snoozes in the view"
    )
    header = f"{'way':12} {'median ms':>10} {'mean ms':>9} {'vs none':>9}"
    print(f"{header}   step alone: median, p99")
    for way in ways:
        median = statistics.median(whole[way]) * 1000
        mean = statistics.fmean(whole[way]) * 1000
        step = sorted(alone[way])
        p50 = statistics.median(step) * 1e6
        p99 = step[int(len(step) * 0.99)] * 1e6
        print(
            f"{way:12} {median:10.3f} {mean:9.3f} {median - base:+9.3f}   "
            f"{p50:.1f} us, {p99:.1f} us"
        )
    print(
        f"refresh (rows of the last minute, every second per replica): median "
        f"{statistics.median(refreshes):.2f} ms; full rebuild: {rebuild_ms:.0f} ms"
    )


if __name__ == "__main__":
    main()
