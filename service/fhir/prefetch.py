"""Prefetch resolution, following the spec's table key by key.

present -> use it; `null` -> known empty; absent, or an OperationOutcome in its place -> fetch the
template from `fhirServer`; a paginated Bundle -> follow `next`. Every key is required: the safety
checks need the medications and eGFR as much as the diagnoses, so when any key can be had neither
way the hook answers 412 rather than advise on half the chart.

A read that finds nothing (the Patient read answering 404, or `null` in its place) is no error,
but it is how a wrong `patientId` shows: it is logged at warning with the hook instance, so that
a call answered with no cards for that reason can be found.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from service.discovery import fill_template
from service.fhir.client import FhirClient, FhirError, bundle_link, resources_of
from service.fhir.urls import has_control_character, unsafe_reason
from service.http.errors import HTTPProblem
from service.logs import log_event
from service.protocol import HookRequest


class PrefetchUnavailable(HTTPProblem):
    """Required data could be had neither from prefetch nor from the FHIR server (412)."""

    def __init__(self, reasons: dict[str, str]) -> None:
        self.reasons = reasons
        detail = "; ".join(f"{key}: {why}" for key, why in sorted(reasons.items()))
        super().__init__(412, f"required data unavailable ({detail})")


@dataclass
class Resolved:
    resources: list[dict[str, Any]] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)  # keys fetched from the FHIR server
    missing: list[str] = field(default_factory=list)  # keys left empty (offline evaluation only)


@dataclass(frozen=True, slots=True)
class _Fetch:
    key: str
    kind: str  # the resource type the template reads or searches
    query: str | None = None  # a filled template
    next_url: str | None = None  # continue a paginated prefetch value
    have: tuple[dict[str, Any], ...] = ()
    self_url: str | None = None  # the paginated value's `self` link

    @property
    def is_read(self) -> bool:
        return self.query is not None and "?" not in self.query


def _kind(template: str) -> str:
    return template.split("?", 1)[0].split("/", 1)[0]


async def resolve(
    templates: dict[str, str],
    request: HookRequest,
    client: FhirClient | None,
    *,
    offline: bool = False,
    earlier: dict[str, list[dict[str, Any]]] | None = None,
) -> Resolved:
    """All resources the templates ask for; raise PrefetchUnavailable when some cannot be had.

    With `offline=True` (the `evaluate` command) nothing is fetched: absent keys are recorded in
    `missing` and treated as empty. `earlier` holds the answers to queries this hook call has
    already made, by query, and receives the new ones: a call answered a second time
    (`pipeline.answer`) asks the FHIR server nothing twice. A `fhirServer` with a control
    character is a malformed request (400), whether or not anything needs fetching.
    """
    if request.fhirServer and has_control_character(request.fhirServer):
        raise HTTPProblem(
            400, "fhirServer: must not contain control characters (tab, CR, LF, NUL, ...)"
        )
    prefetch = request.prefetch or {}
    resolved = Resolved()
    todo: list[_Fetch] = []
    for key, template in templates.items():
        kind = _kind(template)
        if key in prefetch:
            value = prefetch[key]
            if value is None:  # the client looked and found nothing
                if "?" not in template and not offline:
                    _log_not_found(request, key, kind, "prefetch")
                continue
            try:
                found, next_url = resources_of(value)
            except FhirError:
                todo.append(_Fetch(key, kind, query=fill_template(template, request.context)))
                continue
            if next_url:
                self_url = bundle_link(value, "self")
                todo.append(
                    _Fetch(key, kind, next_url=next_url, have=tuple(found), self_url=self_url)
                )
            else:
                resolved.resources.extend(found)
        else:
            todo.append(_Fetch(key, kind, query=fill_template(template, request.context)))
    if not todo:
        return resolved
    if offline:
        for job in todo:
            resolved.resources.extend(job.have)
            resolved.missing.append(job.key)
        return resolved

    reasons = _unfetchable(todo, request, client)
    if reasons:
        raise PrefetchUnavailable(reasons)
    assert client is not None and request.fhirServer is not None
    token = request.fhirAuthorization.access_token if request.fhirAuthorization else None
    known = {} if earlier is None else earlier
    asked_before = set(known)  # a second reading of the call: its answers are not new
    results = await asyncio.gather(
        *(_run(client, request.fhirServer, job, token, known) for job in todo),
        return_exceptions=True,
    )
    for job, result in zip(todo, results, strict=True):
        if isinstance(result, FhirError):
            reasons[job.key] = str(result)
        elif isinstance(result, BaseException):
            raise result
        else:
            if job.is_read and not result and job.query not in asked_before:
                _log_not_found(request, job.key, job.kind, "fhirServer")
            resolved.resources.extend(result)
            resolved.fetched.append(job.key)
    if reasons:
        raise PrefetchUnavailable(reasons)
    return resolved


def _log_not_found(request: HookRequest, key: str, kind: str, where: str) -> None:
    """A read found nothing: the hook instance and the key, never the id that was asked for."""
    log_event(
        "not_found",
        logging.WARNING,
        hook=request.hook,
        hookInstance=request.hookInstance,
        key=key,
        resource=kind,
        source=where,
        message=f"no {kind} for the context's id: the hook is answered without one",
    )


def _unfetchable(
    todo: list[_Fetch], request: HookRequest, client: FhirClient | None
) -> dict[str, str]:
    if not request.fhirServer:
        return {job.key: "not in prefetch and no fhirServer to fetch it from" for job in todo}
    if client is None or not client.allowed(request.fhirServer):
        why = unsafe_reason(request.fhirServer)
        refused = "fhirServer is not an allowed server" + (f" (it {why})" if why else "")
        return {job.key: f"not in prefetch and {refused}" for job in todo}
    return {
        job.key: "the prefetch template needs a context value that is missing"
        for job in todo
        if job.query is None and job.next_url is None
    }


async def _run(
    client: FhirClient,
    base: str,
    job: _Fetch,
    token: str | None,
    known: dict[str, list[dict[str, Any]]],
) -> list[dict]:
    # A page followed from the prefetch is not kept: it goes on from entries that a deferred
    # reading may have left encoded, and the second reading reads them again.
    if job.next_url is not None:
        return await client.follow(
            base, job.next_url, token, list(job.have), kind=job.kind, self_url=job.self_url
        )
    assert job.query is not None
    if job.query not in known:
        known[job.query] = await client.fetch(base, job.query, token)
    return known[job.query]
