"""A read-only FHIR R4 endpoint over in-memory resources: the sample patients in demo mode.

It answers what the CDS Hooks Sandbox asks of a FHIR server (``/metadata``, Patient list and read,
``patient=`` searches via GET and form-encoded ``POST {Type}/_search``) and what the service's own
prefetch templates ask (token lists on ``status`` and ``code``, ``_sort``, ``_count``), so the whole
loop runs on one machine with no other server. The searching itself is `service.demo.store`'s;
this module adds paging, the Bundle, the CapabilityStatement and the HTTP errors: unknown types
and ids answer 404 with an OperationOutcome.

Mount it under ``/fhir``::

    app.include_router(demo_fhir_router(DemoFhirStore.from_samples()), prefix="/fhir")
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import orjson
from fastapi import APIRouter, Request, Response

from service.demo.store import SUPPORTED_TYPES, DemoFhirStore, Resource, search_parameters

__all__ = [
    "FHIR_JSON",
    "SANDBOX",
    "SUPPORTED_TYPES",
    "DemoFhirStore",
    "demo_fhir_router",
    "sandbox_url",
]

FHIR_JSON = "application/fhir+json"
SANDBOX = "https://sandbox.cds-hooks.org"
DEFAULT_COUNT = 100
MAX_COUNT = 1000


def _fhir_response(body: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type=FHIR_JSON)


def _outcome(status_code: int, code: str, diagnostics: str) -> Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }
    return _fhir_response(body, status_code)


def _base_url(request: Request, tail: str) -> str:
    path = request.url.path
    return str(request.url.replace(path=path[: len(path) - len(tail)], query="")).rstrip("/")


def _wants_xml_only(request: Request, params: list[tuple[str, str]]) -> bool:
    fmt = next((v for n, v in params if n == "_format"), "")
    accept = request.headers.get("accept", "")
    return "xml" in fmt or ("xml" in accept and "json" not in accept and "*/*" not in accept)


def _capability_statement(base: str) -> Resource:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": datetime.now(UTC).date().isoformat(),
        "kind": "instance",
        "software": {"name": "ms-backpain-cds demo FHIR server (sample patients, read-only)"},
        "implementation": {"description": "Synthetic MS sample patients", "url": base},
        "fhirVersion": "4.0.1",
        "format": [FHIR_JSON, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Read-only; search parameters not listed are ignored.",
                "resource": [
                    {
                        "type": rtype,
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": search_parameters(rtype),
                    }
                    for rtype in SUPPORTED_TYPES
                ],
            }
        ],
    }


def _page_params(params: list[tuple[str, str]]) -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        raw = next((v for n, v in params if n == name), None)
        try:
            return max(0, int(raw)) if raw is not None else default
        except ValueError:
            return default

    return min(number("_count", DEFAULT_COUNT), MAX_COUNT), number("_offset", 0)


def _searchset(
    base: str, rtype: str, params: list[tuple[str, str]], matches: list[Resource]
) -> Resource:
    count, offset = _page_params(params)
    page = matches[offset : offset + count]
    kept = [(n, v) for n, v in params if n != "_offset"]

    def link(relation: str, at: int) -> dict[str, str]:
        query = urlencode([*kept, ("_offset", str(at))] if at else kept)
        return {"relation": relation, "url": f"{base}/{rtype}" + (f"?{query}" if query else "")}

    links = [link("self", offset)]
    if count and offset + count < len(matches):
        links.append(link("next", offset + count))
    if offset and count:
        links.append(link("previous", max(0, offset - count)))
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": datetime.now(UTC).isoformat(timespec="seconds")},
        "type": "searchset",
        "total": len(matches),
        "link": links,
        "entry": [
            {"fullUrl": f"{base}/{rtype}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in page
        ],
    }


def demo_fhir_router(store: DemoFhirStore | Mapping[str, Iterable[Resource]]) -> APIRouter:
    """An APIRouter serving `store` read-only as FHIR R4; include it with ``prefix="/fhir"``.

    `store` may also be a mapping patient id -> resources (indexed here, once).
    """
    if not isinstance(store, DemoFhirStore):
        store = DemoFhirStore(store)
    router = APIRouter(tags=["demo FHIR server"])

    @router.get("/metadata", include_in_schema=False)
    async def metadata(request: Request) -> Response:
        return _fhir_response(_capability_statement(_base_url(request, "/metadata")))

    async def search(request: Request, rtype: str, params: list[tuple[str, str]], tail: str):
        if rtype not in SUPPORTED_TYPES:
            return _outcome(404, "not-supported", f"Resource type {rtype!r} is not served here")
        if _wants_xml_only(request, params):
            return _outcome(406, "not-supported", "Only JSON is served")
        base = _base_url(request, tail)
        return _fhir_response(_searchset(base, rtype, params, store.search(rtype, params)))

    @router.get("/{rtype}", include_in_schema=False)
    async def search_get(request: Request, rtype: str) -> Response:
        return await search(request, rtype, list(request.query_params.multi_items()), f"/{rtype}")

    @router.post("/{rtype}/_search", include_in_schema=False)
    async def search_post(request: Request, rtype: str) -> Response:
        body = (await request.body()).decode("utf-8", errors="replace")
        params = list(request.query_params.multi_items()) + parse_qsl(body)
        return await search(request, rtype, params, f"/{rtype}/_search")

    @router.get("/{rtype}/{rid}", include_in_schema=False)
    async def read(request: Request, rtype: str, rid: str) -> Response:
        if rid == "_search":
            params = list(request.query_params.multi_items())
            return await search(request, rtype, params, f"/{rtype}/_search")
        if rtype not in SUPPORTED_TYPES:
            return _outcome(404, "not-supported", f"Resource type {rtype!r} is not served here")
        resource = store.read(rtype, rid)
        if resource is None:
            return _outcome(404, "not-found", f"{rtype}/{rid} is not known")
        return _fhir_response(resource)

    @router.api_route(
        "/{path:path}", methods=["POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    async def read_only(path: str) -> Response:
        return _outcome(405, "not-supported", "This demo FHIR server is read-only")

    return router


def sandbox_url(service_base: str, patient_id: str, *, sandbox: str = SANDBOX) -> str:
    """The CDS Hooks Sandbox URL that opens `patient_id` from this server's demo FHIR endpoint
    (``{service_base}/fhir``) with this server's discovery (``{service_base}/cds-services``).
    """
    base = service_base.rstrip("/")
    params = [
        ("fhirServiceUrl", f"{base}/fhir"),
        ("patientId", patient_id),
        ("serviceDiscoveryURL", f"{base}/cds-services"),
    ]
    return f"{sandbox.rstrip('/')}/?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
