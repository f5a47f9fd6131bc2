"""The hook pipeline without HTTP: resources -> pain profile -> cards.

Shared by the hook endpoints and the offline `evaluate` command, so what a tester sees on the
command line is exactly what an EHR would get.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import cards
import mappings
from cards.model import Card
from service.discovery import ServiceDefinition


def today() -> date:
    return datetime.now(UTC).date()


def evaluate(
    service: ServiceDefinition,
    context: dict[str, Any],
    resources: list[dict[str, Any]],
    *,
    on: date | None = None,
    consume: bool = False,
) -> list[Card]:
    """The cards for one hook call, given every resource its prefetch resolved to.

    `consume=True` hands `resources` over to be emptied (`mappings.classify`), for a caller that
    holds no other reference to them: the hook endpoint, once the prefetch is let go.
    """
    patient_id = str(context.get("patientId", ""))
    day = on or today()
    term = mappings.load_terminology()  # loaded at start-up: a dict lookup here
    orders: tuple[mappings.DraftOrder, ...] = ()
    if service.hook in ("order-select", "order-sign"):
        # before classify, which may empty `resources`; the drafts may refer into them
        selections = context.get("selections") if service.hook == "order-select" else None
        orders = mappings.classify_orders(
            context.get("draftOrders"),
            selections=selections,
            resources=resources,
            terminology=term,
        )
    profile = mappings.classify(
        resources, today=day, patient_id=patient_id, terminology=term, consume=consume
    )
    return cards.cards_for(
        service.hook,
        profile,
        patient_id=patient_id,
        user_id=str(context.get("userId", "")),
        orders=orders,
        today=day,
    )
