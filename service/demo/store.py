"""The demo FHIR server's data: resources indexed by patient and type, and the FHIR search
semantics it serves (token lists on ``status`` and ``code``, dates with prefixes, ``_sort``).

Read-only and in memory, so a search touches only one patient's few resources. Unknown search
parameters are ignored, as a lenient FHIR server does. `service.demo.fhir_server` serves it
over HTTP.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

__all__ = ["SUPPORTED_TYPES", "DemoFhirStore", "Resource", "search_parameters"]

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
    found_system, sep, code = wanted.partition("|")
    system: str | None = found_system
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
        from service.demo.samples import resources_by_patient

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


def search_parameters(rtype: str) -> list[dict[str, str]]:
    """The search parameters the store understands for `rtype`, as a CapabilityStatement
    lists them."""
    params = [{"name": "_id", "type": "token"}]
    if rtype == "Patient":
        params += [{"name": n, "type": "string"} for n in ("name", "family", "given")]
    else:
        params += [{"name": n, "type": "reference"} for n in ("patient", "subject")]
    params += [{"name": n, "type": "token"} for n in _TOKEN_PARAMS[rtype]]
    params += [{"name": n, "type": "date"} for n in _DATE_PARAMS.get(rtype, {})]
    return params
