"""The hook pipeline without HTTP: resources -> pain profile -> cards (`evaluate`), and a hook
call's raw body -> cards (`answer`, which reads the body and resolves its prefetch first).

Shared by the hook endpoints and the offline `evaluate` command, so what a tester sees on the
command line is exactly what an EHR would get.

`evaluate` is CPU work. For a body above `OFFLOAD_ABOVE_BYTES`, `answer` runs it in a worker
thread when called from an event loop, so that the loop goes on answering `/health` and other
calls while a large chart is read (the GIL passes between the threads every few milliseconds).
A smaller body is evaluated in place: handing it to a thread would cost more than the time it
holds the loop (bench/hostile_text.py measures both).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import anyio
import anyio.to_thread
import sniffio
from anyio.lowlevel import RunVar

import cards
import mappings
from cards.model import Action, Card
from cards.pama import pama_actions
from mappings.errors import TooCostly
from mappings.fhir import Decode
from mappings.text_budget import text_budget
from service.discovery import ServiceDefinition
from service.fhir import decoding as hooks
from service.fhir.client import FhirClient
from service.fhir.prefetch import resolve
from service.http.errors import HTTPProblem

# Evaluations run at once in worker threads, per event loop (per worker process). The GIL runs
# one at a time whatever this says, so more threads add no throughput; more than one lets a small
# call take turns with a large one rather than wait for it to end. Each evaluation holds a chart's
# objects, so this also bounds the memory calls being evaluated hold; the others wait their turn.
MAX_CONCURRENT_EVALUATIONS = 4
# Bodies up to this size are evaluated on the event loop: a small chart (the benchmark's
# 50-resource one) costs less to evaluate than to hand to a thread, and however hostile its free
# text, a body this size holds the loop only briefly (text is read in linear time, mappings.text).
OFFLOAD_ABOVE_BYTES = 64 * 1024
_evaluations: RunVar[anyio.CapacityLimiter] = RunVar("evaluations")


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
    actions: list[Action] | None = None,
    hook_instance: str = "",
) -> list[Card]:
    """The cards for one hook call, given every resource its prefetch resolved to.

    `consume=True` hands `resources` over to be emptied (`mappings.classify`), for a caller that
    holds no other reference to them: the hook endpoint, once the prefetch is let go. `decode`
    decodes the resources left encoded (`mappings.classify`). `actions`, when given, receives
    the call's system actions (the PAMA ratings of imaging drafts, `cards.pama`), which
    `hook_instance` correlates. Raises `HTTPProblem` (413) when the call would cost more than
    one call may: more free text to read (`mappings.text_budget`), or more different draft
    orders to check (`cards.orders`).
    """
    try:
        with text_budget():
            return _evaluate(
                service,
                context,
                resources,
                on=on,
                consume=consume,
                decode=decode,
                actions=actions,
                hook_instance=hook_instance,
            )
    except TooCostly as exc:
        refused = str(exc)
    # Raised here, not in the handler: the refusal must not keep the exception refused, whose
    # traceback holds every frame of the evaluation and the call's resources in them.
    raise HTTPProblem(413, refused)


def _evaluate(
    service: ServiceDefinition,
    context: dict[str, Any],
    resources: list[dict[str, Any]],
    *,
    on: date | None,
    consume: bool,
    decode: Decode | None,
    actions: list[Action] | None,
    hook_instance: str,
) -> list[Card]:
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
    if actions is not None and orders and not profile.deceased:
        actions += pama_actions(
            profile, orders, context.get("draftOrders"), hook_instance=hook_instance, today=day
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
    actions: list[Action] | None = None,
) -> list[Card]:
    """The cards for one hook call's raw body: read it, resolve its prefetch, evaluate.

    A body above `hooks.DEFER_ENTRIES_ABOVE` is read with its Bundle entries left encoded, each
    decoded when mappings reads it (`hooks.EntryDecoder`); when one of them needs the eager
    reading (an OperationOutcome, say) the call is answered again from the body the eager way,
    with what the first reading fetched from the FHIR server. `log` receives the hook instance
    and the keys fetched, for the hook's log line, as soon as they are known. Raises
    `HTTPProblem` (400) and `PrefetchUnavailable` (412). `actions` receives the call's system
    actions (see `evaluate`).
    """
    defer = hooks.defers_entries(body)
    offload = len(body) > OFFLOAD_ABOVE_BYTES
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
        rated: list[Action] = []  # this reading's; a second reading starts afresh
        evaluation = partial(
            evaluate,
            service,
            request.context,
            resolved.resources,
            on=on,
            consume=True,
            decode=decode,
            actions=rated,
            hook_instance=request.hookInstance,
        )
        found = await _off_loop(evaluation) if offload else evaluation()
        if decode is None or not decode.redo:
            if actions is not None:
                actions += rated
            return found
        log["reread"] = True
        defer = False


async def _off_loop(evaluation: partial[list[Card]]) -> list[Card]:
    """`evaluation()` in a worker thread (at most `MAX_CONCURRENT_EVALUATIONS` at once), or in
    place when no event loop runs (a caller driving `answer` by hand, as bench/identical.py
    does): then there is no loop to keep free."""
    try:
        sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return evaluation()
    outcome = await anyio.to_thread.run_sync(_Once(evaluation), limiter=_limiter())
    if isinstance(outcome, HTTPProblem):
        try:
            raise outcome
        finally:
            del outcome  # this frame, in the traceback, must not hold the exception (a cycle)
    return outcome


class _Once:
    """An evaluation for a worker thread, let go of once run, and whose refusal comes back as a
    value. Both keep the call's resources from outliving it: an idle worker keeps the last job it
    was given until its next one, and an exception raised across the thread boundary holds, in
    the frames of its traceback, the resources (all of them, when refused part way), in a cycle
    with the future that carried it, until the collector's oldest generation runs."""

    __slots__ = ("_call",)

    def __init__(self, call: partial[list[Card]]) -> None:
        self._call: partial[list[Card]] | None = call

    def __call__(self) -> list[Card] | HTTPProblem:
        call, self._call = self._call, None
        if call is None:
            raise RuntimeError("an evaluation is run once")
        try:
            return call()
        except HTTPProblem as problem:  # a fresh one, without the traceback and its frames
            return HTTPProblem(problem.status, problem.diagnostics, problem.headers)


def _limiter() -> anyio.CapacityLimiter:
    """The event loop's evaluation limiter (one per loop: a limiter belongs to its loop)."""
    try:
        return _evaluations.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(MAX_CONCURRENT_EVALUATIONS)
        _evaluations.set(limiter)
        return limiter
