"""A read-only FHIR R4 endpoint over in-memory resources: the sample patients in demo mode.

It answers what the CDS Hooks Sandbox asks of a FHIR server (``/metadata``, Patient list and read,
``patient=`` searches via GET and form-encoded ``POST {Type}/_search``) and what the service's own
prefetch templates ask (token lists on ``status`` and ``code``, ``_sort``, ``_count``), so the whole
loop runs on one machine with no other server. Resources are indexed by patient and type at
start-up, so a search touches only one patient's few resources. Unknown search parameters are
ignored, as a lenient FHIR server does; unknown types and ids answer 404 with an OperationOutcome.

Mount it under ``/fhir``::

    app.include_router(demo_fhir_router(DemoFhirStore.from_samples()), prefix="/fhir")
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import orjson
from fastapi import APIRouter, Request, Response

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

Resource = dict[str, Any]
Getter = Callable[[Resource], Iterable[Any]]


# ---- field access for search parameters -----------------------------------------------------


def _codings(value: Any) -> Iterable[tuple[str | None, str]]:
    """(system, code) pairs of a CodeableConcept, a list of them, or a plain code."""
    if isinstance(value, str):
        yield None, value
    elif isinstance(value, list):
        for item in value:
            yield from _codings(item)
    elif isinstance(value, dict):
        for coding in value.get("coding") or []:
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                yield coding.get("system"), coding["code"]


def _field(name: str) -> Getter:
    return lambda r: [r.get(name)]


def _observation_dates(r: Resource) -> list[Any]:
    period = r.get("effectivePeriod") or {}
    return [r.get("effectiveDateTime"), r.get("effectiveInstant"), period.get("start")]


def _reference_ids(value: Any) -> list[str]:
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str) and "Patient/" in ref:
            return [ref.rsplit("Patient/", 1)[1].split("/")[0]]
    return []


_TOKEN_PARAMS: dict[str, dict[str, Getter]] = {
    "Patient": {"gender": _field("gender"), "identifier": _field("identifier")},
    "Condition": {
        "code": _field("code"),
        "category": _field("category"),
        "clinical-status": _field("clinicalStatus"),
        "verification-status": _field("verificationStatus"),
    },
    "MedicationRequest": {
        "status": _field("status"),
        "intent": _field("intent"),
        "category": _field("category"),
        "code": _field("medicationCodeableConcept"),
    },
    "MedicationStatement": {
        "status": _field("status"),
        "category": _field("category"),
        "code": _field("medicationCodeableConcept"),
    },
    "Observation": {
        "status": _field("status"),
        "code": _field("code"),
        "category": _field("category"),
    },
    "ServiceRequest": {
        "status": _field("status"),
        "intent": _field("intent"),
        "code": _field("code"),
        "category": _field("category"),
    },
}

_DATE_PARAMS: dict[str, dict[str, Getter]] = {
    "Condition": {
        "onset-date": lambda r: [r.get("onsetDateTime"), (r.get("onsetPeriod") or {}).get("start")],
        "recorded-date": _field("recordedDate"),
    },
    "MedicationRequest": {"authoredon": _field("authoredOn")},
    "MedicationStatement": {"effective": lambda r: [(r.get("effectivePeriod") or {}).get("start")]},
    "Observation": {"date": _observation_dates},
    "ServiceRequest": {"authored": _field("authoredOn")},
}

SUPPORTED_TYPES: tuple[str, ...] = tuple(_TOKEN_PARAMS)


def _identifier_tokens(value: Any) -> Iterable[tuple[str | None, str]]:
    for ident in value if isinstance(value, list) else []:
        if isinstance(ident, dict) and isinstance(ident.get("value"), str):
            yield ident.get("system"), ident["value"]


def _token_matches(values: Iterable[Any], wanted: str, *, identifier: bool = False) -> bool:
    """Token search on one item of a comma list: `code`, `system|code`, `|code` or `system|`."""
    system, sep, code = wanted.partition("|")
    if not sep:
        system, code = None, wanted
    for value in values:
        pairs = _identifier_tokens(value) if identifier else _codings(value)
        for have_system, have_code in pairs:
            if code and have_code != code:
                continue
            if system is None or (system == "" and not have_system) or system == have_system:
                return True
    return False


_DATE_PREFIXES = ("eq", "ne", "lt", "gt", "ge", "le", "sa", "eb")


def _date_matches(values: Iterable[Any], wanted: str) -> bool:
    prefix = wanted[:2] if wanted[:2] in _DATE_PREFIXES else "eq"
    target = wanted[2:] if wanted[:2] in _DATE_PREFIXES else wanted
    for value in values:
        if not isinstance(value, str) or not value:
            continue
        have = value[: len(target)]  # compare at the precision of the query (year, month, day)
        if (
            (prefix == "eq" and have == target)
            or (prefix == "ne" and have != target)
            or (prefix in ("lt", "eb") and have < target)
            or (prefix in ("gt", "sa") and have > target)
            or (prefix == "ge" and have >= target)
            or (prefix == "le" and have <= target)
        ):
            return True
    return False


def _sort_key(resource: Resource) -> str:
    for value in (
        *_observation_dates(resource),
        resource.get("authoredOn"),
        resource.get("onsetDateTime"),
        resource.get("recordedDate"),
    ):
        if isinstance(value, str):
            return value
    return ""


# ---- the store ------------------------------------------------------------------------------


class DemoFhirStore:
    """Resources indexed for the searches a CDS client makes: by id, and by patient and type."""

    def __init__(self, resources_by_patient: Mapping[str, Iterable[Resource]]) -> None:
        self._by_id: dict[tuple[str, str], Resource] = {}
        self._by_patient: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        self._by_type: dict[str, list[Resource]] = defaultdict(list)
        for patient_id, resources in resources_by_patient.items():
            for resource in resources:
                rtype, rid = resource.get("resourceType"), resource.get("id")
                if rtype not in SUPPORTED_TYPES or not isinstance(rid, str):
                    continue
                self._by_id[rtype, rid] = resource
                self._by_type[rtype].append(resource)
                if rtype != "Patient":
                    owner = (_reference_ids(resource.get("subject")) or [patient_id])[0]
                    self._by_patient[owner, rtype].append(resource)

    @classmethod
    def from_samples(cls, *, today: date | None = None) -> DemoFhirStore:
        """A store holding every bundled sample patient, dates shifted to `today`."""
        from service.samples import resources_by_patient

        return cls(resources_by_patient(today=today))

    @property
    def patient_ids(self) -> list[str]:
        return [p["id"] for p in self._by_type["Patient"]]

    def read(self, rtype: str, rid: str) -> Resource | None:
        return self._by_id.get((rtype, rid))

    def search(self, rtype: str, params: list[tuple[str, str]]) -> list[Resource]:
        """Every resource of `rtype` matching all `params` (repeats AND, commas OR)."""
        candidates = self._candidates(rtype, params)
        tokens, dates = _TOKEN_PARAMS.get(rtype, {}), _DATE_PARAMS.get(rtype, {})
        for name, value in params:
            base = name.split(":", 1)[0]
            alternatives = [v for v in value.split(",") if v]
            if not alternatives:
                continue
            if base == "_id":
                wanted_ids = set(alternatives)
                candidates = [r for r in candidates if r.get("id") in wanted_ids]
            elif base in tokens:
                getter, is_identifier = tokens[base], base == "identifier"
                candidates = [
                    r
                    for r in candidates
                    if any(
                        _token_matches(getter(r), v, identifier=is_identifier) for v in alternatives
                    )
                ]
            elif base in dates:
                getter = dates[base]
                candidates = [r for r in candidates if _date_matches(getter(r), value)]
            elif rtype == "Patient" and base in ("name", "family", "given"):
                candidates = [r for r in candidates if _name_matches(r, base, alternatives)]
        for name, value in params:
            if name == "_sort":
                keys = [k.strip() for k in value.split(",") if k.strip()]
                if keys and keys[0].lstrip("-") in ("date", "authoredon", "onset-date"):
                    candidates = sorted(candidates, key=_sort_key, reverse=keys[0][0] == "-")
        return candidates

    def _candidates(self, rtype: str, params: list[tuple[str, str]]) -> list[Resource]:
        patients = [v for n, v in params if n in ("patient", "subject", "subject:Patient")]
        if rtype == "Patient" or not patients:
            return list(self._by_type.get(rtype, []))
        # Each `patient=` narrows; its comma list ORs patients.
        chosen: set[str] | None = None
        for value in patients:
            ids = {_patient_id(v) for v in value.split(",") if v}
            chosen = ids if chosen is None else chosen & ids
        found: list[Resource] = []
        for pid in sorted(chosen or ()):
            found.extend(self._by_patient.get((pid, rtype), []))
        return found


def _patient_id(value: str) -> str:
    return value.rsplit("Patient/", 1)[1].split("/")[0] if "Patient/" in value else value


def _name_matches(patient: Resource, part: str, alternatives: list[str]) -> bool:
    words: list[str] = []
    for name in patient.get("name") or []:
        if not isinstance(name, dict):
            continue
        if part in ("name", "family") and isinstance(name.get("family"), str):
            words.append(name["family"])
        if part in ("name", "given"):
            words.extend(g for g in name.get("given") or [] if isinstance(g, str))
        if part == "name" and isinstance(name.get("text"), str):
            words.append(name["text"])
    lowered = [w.lower() for w in words]
    return any(w.startswith(a.lower()) for a in alternatives for w in lowered)


# ---- HTTP -----------------------------------------------------------------------------------


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
    def search_params(rtype: str) -> list[dict[str, str]]:
        params = [{"name": "_id", "type": "token"}]
        if rtype == "Patient":
            params += [{"name": n, "type": "string"} for n in ("name", "family", "given")]
        else:
            params += [{"name": n, "type": "reference"} for n in ("patient", "subject")]
        params += [{"name": n, "type": "token"} for n in _TOKEN_PARAMS[rtype]]
        params += [{"name": n, "type": "date"} for n in _DATE_PARAMS.get(rtype, {})]
        return params

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
                        "searchParam": search_params(rtype),
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
