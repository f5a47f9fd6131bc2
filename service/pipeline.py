"""The hook pipeline without HTTP: resources -> pain profile -> cards (`evaluate`), and a hook
call's raw body -> cards (`answer`, which reads the body and resolves its prefetch first).

Shared by the hook endpoints and the offline `evaluate` command, so what a tester sees on the
command line is exactly what an EHR would get.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import cards
import mappings
from cards.model import Card
from mappings.fhir import Decode
from service import hooks
from service.discovery import ServiceDefinition
from service.fhir import FhirClient
from service.prefetch import resolve


def today() -> date:
    return datetime.now(UTC).date()


def evaluate(
    service: ServiceDefinition,
    context: dict[str, Any],
    resources: list[dict[str, Any]],
    *,
    on: date | None = None,
    consume: bool = False,
    decode: Decode | None = None,
) -> list[Card]:
    """The cards for one hook call, given every resource its prefetch resolved to.

    `consume=True` hands `resources` over to be emptied (`mappings.classify`), for a caller that
    holds no other reference to them: the hook endpoint, once the prefetch is let go. `decode`
    decodes the resources left encoded (`mappings.classify`).
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
            decode=decode,
        )
    profile = mappings.classify(
        resources,
        today=day,
        patient_id=patient_id,
        terminology=term,
        consume=consume,
        decode=decode,
    )
    return cards.cards_for(
        service.hook,
        profile,
        patient_id=patient_id,
        user_id=str(context.get("userId", "")),
        orders=orders,
        today=day,
    )


async def answer(
    service: ServiceDefinition,
    body: bytes,
    client: FhirClient | None,
    *,
    log: dict[str, object],
    on: date | None = None,
    offline: bool = False,
) -> list[Card]:
    """The cards for one hook call's raw body: read it, resolve its prefetch, evaluate.

    A body above `hooks.DEFER_ENTRIES_ABOVE` is read with its Bundle entries left encoded, each
    decoded when mappings reads it (`hooks.EntryDecoder`); when one of them needs the eager
    reading (an OperationOutcome, say) the call is answered again from the body the eager way,
    with what the first reading fetched from the FHIR server. `log` receives the hook instance
    and the keys fetched, for the hook's log line, as soon as they are known. Raises
    `HTTPProblem` (400) and `PrefetchUnavailable` (412).
    """
    defer = hooks.defers_entries(body)
    # what the first reading fetched, by query, for a second reading to reuse
    fetched: dict[str, list[dict[str, Any]]] | None = {} if defer else None
    while True:
        request = hooks.read_hook_request(service, body, defer_entries=defer)
        log["hookInstance"] = request.hookInstance
        resolved = await resolve(
            service.prefetch, request, client, offline=offline, earlier=fetched
        )
        log["fetched"] = resolved.fetched
        # Its resources are in `resolved` now: let the prefetch go, so that classify frees
        # each resource once read (see mappings.classify, consume).
        request.prefetch = None
        decode = hooks.EntryDecoder() if defer else None
        found = evaluate(
            service, request.context, resolved.resources, on=on, consume=True, decode=decode
        )
        if decode is None or not decode.redo:
            return found
        log["reread"] = True
        defer = False
