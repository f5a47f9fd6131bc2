"""Suppression: a card a clinician has decided on is not shown again while its snooze runs.

The decision "hide this card now?" is a dictionary lookup: hook calls must not wait for the
database. `SuppressionView` keeps, per card uuid with feedback, the time until which a card of
each hideable indicator stays hidden (`cards.snooze`: the period depends on the decision and the
indicator; critical cards are never hidden; a new uuid, from new evidence, is never in the view).

The feedback table is the truth, shared by every replica: the view is a mirror of its rows that
can still hide a card, read whole at start-up and every `REBUILD_S`, and in between refreshed
every second (by the governance loop) with the rows received since the last reading, minus an
`OVERLAP_S` margin for transactions that commit late and clocks a little apart. Feedback this
replica receives is applied at once (`remember`). The view is bounded (`max_entries`, counted in
`overflow`): past it a snooze is not applied, which shows a card rather than hides one.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cards import snooze
from cards.model import Card
from service.protocol import FeedbackItem
from service.store.feedback import feedback_table

DAY_S = 86_400.0
REBUILD_S = 600.0  # a full reading this often
REBUILD_BATCH = 1000  # rows read between two turns of the event loop
OVERLAP_S = 60.0
MAX_ENTRIES = 500_000
_NEVER = (-math.inf, -math.inf)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_COLUMNS = (
    feedback_table.c.card_uuid,
    feedback_table.c.outcome,
    # the reason's coding read by the database: no JSON decoding here
    feedback_table.c.override_reason[("reason", "system")].as_string(),
    feedback_table.c.override_reason[("reason", "code")].as_string(),
    feedback_table.c.outcome_timestamp,
    feedback_table.c.received_at,
)


def _epoch(value: datetime) -> float:
    # SQLite gives back naive datetimes: they were written in UTC.
    return value.timestamp() if value.tzinfo else (value - _NAIVE_EPOCH).total_seconds()


# decision -> (info, warning) snooze in seconds, from the table
_PERIODS = {
    decision: (
        snooze.hide_days(decision, "info") * DAY_S,
        snooze.hide_days(decision, "warning") * DAY_S,
    )
    for decision in snooze.TABLE
}


def hidden_until(decision: str, decided_at: float) -> tuple[float, float]:
    """(info, warning): until when a card of each indicator stays hidden after this decision."""
    info, warning = _PERIODS.get(decision) or _PERIODS[snooze.DISMISSED]
    return decided_at + info, decided_at + warning


def _horizon_days() -> float | None:
    """How far back a row other than an acceptance can still hide a card: the longest finite
    period of the table; None when some override reason hides while the evidence stands."""
    days = [d for row in snooze.TABLE.values() for d in row.days.values()]
    endless = [
        decision
        for decision, row in snooze.TABLE.items()
        if snooze.UNTIL_EVIDENCE_CHANGES in row.days.values()
    ]
    if set(endless) - {snooze.ACCEPTED}:
        return None
    return max((d for d in days if d != snooze.UNTIL_EVIDENCE_CHANGES), default=0.0)


class SuppressionView:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Callable[[], float] = time.time,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.max_entries = max_entries
        self.overflow = 0
        self._until: dict[str, tuple[float, float]] = {}
        self._fresh: dict[str, tuple[float, float]] | None = None  # while rebuilding
        self._since: float | None = None  # rows received from then on are read next
        self._rebuilt_at = -math.inf

    def __len__(self) -> int:
        return len(self._until)

    # --- the hook call's question --------------------------------------------------------------

    def hidden(self, card_uuid: str | None, indicator: str, now: float) -> bool:
        """Whether the card with this uuid and indicator is snoozed at `now`."""
        until = self._until.get(card_uuid or "", _NEVER)
        if indicator == "info":
            return now < until[0]
        if indicator == "warning":
            return now < until[1]
        return False  # critical: never

    def split(self, cards: Sequence[Card], now: float) -> tuple[list[Card], list[Card]]:
        """(shown, suppressed), each in the order given."""
        if not self._until:
            return list(cards), []
        shown: list[Card] = []
        suppressed: list[Card] = []
        for card in cards:
            (suppressed if self.hidden(card.uuid, card.indicator, now) else shown).append(card)
        return shown, suppressed

    # --- keeping the mirror ----------------------------------------------------------------------

    def _put(
        self,
        target: dict[str, tuple[float, float]],
        card_uuid: str,
        decision: str,
        decided_at: float,
        now: float,
    ) -> None:
        """Hide `card_uuid` as `decision` at `decided_at` says (the later end wins); a snooze
        already over at `now` is not kept."""
        info, warning = hidden_until(decision, decided_at)
        if info <= now and warning <= now:
            return
        old = target.get(card_uuid)
        if old is None:
            if len(target) >= self.max_entries:
                self.overflow += 1
                return
            target[card_uuid] = (info, warning)
        elif info > old[0] or warning > old[1]:
            target[card_uuid] = (max(info, old[0]), max(warning, old[1]))

    def remember(self, items: Iterable[FeedbackItem], received_at: datetime) -> None:
        """Apply feedback this replica has just stored, without waiting for the next refresh."""
        received = _epoch(received_at)
        now = self.clock()
        targets = [self._until] if self._fresh is None else [self._until, self._fresh]
        for item in items:
            reason = item.overrideReason.reason if item.overrideReason else None
            decision = snooze.decision_of(
                item.outcome, reason.system if reason else None, reason.code if reason else None
            )
            decided = min(_epoch(item.outcomeTimestamp), received)
            for target in targets:
                self._put(target, item.card, decision, decided, now)

    def _apply_rows(
        self, rows: Iterable[Any], now: float, target: dict[str, tuple[float, float]]
    ) -> None:
        for card_uuid, outcome, system, code, outcome_timestamp, received_at in rows:
            # A snooze runs from the decision, never from a time later than its arrival.
            decided = min(_epoch(outcome_timestamp), _epoch(received_at))
            decision = snooze.decision_of(outcome, system, code)
            self._put(target, card_uuid, decision, decided, now)

    async def rebuild(self) -> None:
        """Read every feedback row that can still hide a card into a new view, then use it.

        Rows are read in batches with the event loop free in between, so hook calls go on
        (with the old view) while a large table is read.
        """
        started = self.clock()
        query = select(*_COLUMNS)
        horizon = _horizon_days()
        if horizon is not None:
            since = datetime.fromtimestamp(started - horizon * DAY_S, UTC)
            query = query.where(
                or_(feedback_table.c.received_at >= since, feedback_table.c.outcome == "accepted")
            )
        fresh: dict[str, tuple[float, float]] = {}
        self._fresh = fresh  # feedback remembered meanwhile goes to both
        try:
            async with self.engine.connect() as conn:
                result = await conn.stream(query)
                async for rows in result.partitions(REBUILD_BATCH):
                    self._apply_rows(rows, started, fresh)
                    await asyncio.sleep(0)
        finally:
            self._fresh = None
        self._until = fresh
        self._since = started
        self._rebuilt_at = started

    async def refresh(self) -> None:
        """Read the rows received since the last reading (a full rebuild when it is due)."""
        started = self.clock()
        if self._since is None or started - self._rebuilt_at >= REBUILD_S:
            await self.rebuild()
            return
        since = datetime.fromtimestamp(self._since - OVERLAP_S, UTC)
        query = select(*_COLUMNS).where(feedback_table.c.received_at >= since)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        self._apply_rows(rows, started, self._until)
        self._since = started
