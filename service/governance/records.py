"""What the service remembers about its cards, in one place for the hook and feedback endpoints.

`screen` runs on each hook call's cards: the snoozed ones are taken out
(`service.governance.suppression`), every card is written to the issuance ledger
(`service.store.ledger`) and counted (`service.metrics`).
`feedback` applies new feedback to the snoozes at once. One background task keeps the rest
current: the snoozes read from the database every `refresh_s` (what other replicas received),
the ledger written every second and its old rows deleted every hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from cards.model import Card
from service.config import Settings
from service.governance.suppression import SuppressionView
from service.logs import log_event
from service.metrics import Metrics
from service.protocol import FeedbackItem
from service.store.feedback import FeedbackStore
from service.store.ledger import IssuanceLedger, card_kind

FLUSH_S = 1.0
PURGE_S = 3600.0


class Governance:
    def __init__(
        self,
        ledger: IssuanceLedger,
        suppression: SuppressionView | None,
        metrics: Metrics,
        *,
        refresh_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ledger = ledger
        self.suppression = suppression  # None: MSCDS_SUPPRESSION=off
        self.metrics = metrics
        self.refresh_s = refresh_s
        self.clock = clock  # "now" for the snoozes; tests move it
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, settings: Settings, store: FeedbackStore, metrics: Metrics) -> Governance:
        """Ledger and snoozes on the feedback store's database; the snoozes read once here."""
        engine = store.engine
        ledger = await IssuanceLedger.open(engine, retention_days=settings.ledger_retention_days)
        suppression = SuppressionView(engine) if settings.suppression else None
        if suppression is not None:
            await suppression.rebuild()
        await ledger.purge()
        governance = cls(ledger, suppression, metrics, refresh_s=settings.suppression_refresh_s)
        governance._task = asyncio.create_task(governance._run(), name="governance")
        return governance

    def screen(
        self, service_id: str, cards: Sequence[Card], *, log: dict[str, object]
    ) -> list[Card]:
        """The cards to answer with: the snoozed ones taken out, all of them recorded."""
        if self.suppression is not None:
            shown, hidden = self.suppression.split(cards, self.clock())
        else:
            shown, hidden = list(cards), []
        if hidden:
            log["suppressed"] = [card_kind(c) for c in hidden]
        self.ledger.record(service_id, log.get("hookInstance"), shown, hidden)
        self.metrics.cards_answered(shown, hidden)
        return shown

    def feedback(self, items: Sequence[FeedbackItem], received_at: datetime | None = None) -> None:
        """Feedback just stored by this replica: its snoozes start now, here."""
        if self.suppression is not None:
            self.suppression.remember(items, received_at or datetime.now(UTC))
        self.metrics.feedback_received(items)

    async def _run(self) -> None:
        # Each step on its own clock; a failing database is logged once per step and retried.
        due = {"refresh": 0.0, "flush": 0.0, "purge": time.monotonic() + PURGE_S}
        failing: set[str] = set()
        steps = {"refresh": self._refresh, "flush": self.ledger.flush, "purge": self.ledger.purge}
        every = {"refresh": self.refresh_s, "flush": FLUSH_S, "purge": PURGE_S}
        dropped = 0
        while True:
            await asyncio.sleep(min(self.refresh_s, FLUSH_S))
            if self.ledger.dropped > dropped:
                dropped = self.ledger.dropped
                log_event("ledger_rows_dropped", logging.WARNING, dropped=dropped)
            now = time.monotonic()
            for name, step in steps.items():
                if now < due[name]:
                    continue
                due[name] = now + every[name]
                try:
                    await step()
                except Exception as exc:
                    if name not in failing:
                        log_event(
                            f"governance_{name}_failed", logging.ERROR, error=type(exc).__name__
                        )
                    failing.add(name)
                else:
                    failing.discard(name)

    async def _refresh(self) -> None:
        if self.suppression is not None:
            await self.suppression.refresh()

    async def close(self) -> None:
        """Stop the background task and write what the ledger still holds."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.ledger.flush()
        except Exception as exc:
            log_event("governance_flush_failed", logging.ERROR, error=type(exc).__name__)
