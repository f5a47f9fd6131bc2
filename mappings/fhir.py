"""Lenient readers for plain FHIR dicts.

EHR data is messy: lists where objects are expected and the reverse, `coding: [{}]`, numbers for
codes, missing dates. These helpers never raise; they return "nothing" for anything unexpected, so
the classifier can stay a straight line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from functools import lru_cache
from typing import Any

# Turns an item of a resource list that is not a dict yet (a resource the caller left encoded,
# to be decoded only when it is read) into what it stands for. Readers that take one call it on
# every item that is not a dict.
Decode = Callable[[Any], Any]


def as_list(value: Any) -> list[Any]:
    """A FHIR repeating element as a list (a lone object becomes a one-item list)."""
    if isinstance(value, list):
        return value
    if value is None:
        return []
    return [value]


def dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a repeating element (a list, not a generator: these lists are short and
    read on every resource, where a generator's set-up costs more than the loop)."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def text_of(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def codings(concept: Any) -> list[dict[str, Any]]:
    """The codings of a CodeableConcept (or of a list of them)."""
    if isinstance(concept, dict):  # the common case: one CodeableConcept
        return dicts(concept.get("coding"))
    return [coding for cc in dicts(concept) for coding in dicts(cc.get("coding"))]


def concept_texts(concept: Any) -> list[str]:
    """`text` and every coding `display` of a CodeableConcept (or list of them)."""
    out: list[str] = []
    if concept.__class__ is dict:
        concept = (concept,)
    elif concept.__class__ is not list:
        concept = dicts(concept)
    for cc in concept:
        if not isinstance(cc, dict):
            continue
        text = cc.get("text")
        if isinstance(text, str) and (text := text.strip()):
            out.append(text)
        found = cc.get("coding")
        for coding in found if found.__class__ is list else dicts(found):
            if isinstance(coding, dict):
                display = coding.get("display")
                if isinstance(display, str) and (display := display.strip()) and display not in out:
                    out.append(display)
    return out


def first_display(concept: Any) -> str:
    """The best human label of a CodeableConcept: its text, else the first display."""
    texts = concept_texts(concept)
    return texts[0] if texts else ""


def status_tokens(value: Any) -> set[str]:
    """Lower-case status codes from a code string (STU3), a CodeableConcept (R4) or its text."""
    if isinstance(value, str):
        return {value.strip().lower()} if value.strip() else set()
    out: set[str] = set()
    for cc in dicts(value):
        for coding in dicts(cc.get("coding")):
            code = coding.get("code")
            if isinstance(code, str) and (code := code.strip()):
                out.add(code.lower())
        if not out and (text := text_of(cc.get("text"))):
            out.add(text.lower())
    return out


_STATUS_CODES: dict[str, str] = {}  # a status code as written -> its token (bounded)


def status_code(value: Any) -> str | None:
    """The one status token of the common shapes, or None: then ask `status_tokens`.

    Nearly every status is a code string (STU3, and R4's `status`) or a CodeableConcept with one
    coding whose code is a string; for those the answer is that code, stripped and lower-case,
    remembered per code as written (statuses are a small vocabulary). None means "not that
    shape" (or a blank code): `status_tokens` then reads it leniently, text included.
    """
    if value.__class__ is dict:
        coding = value.get("coding")
        if coding.__class__ is not list or len(coding) != 1:
            return None
        first = coding[0]
        if first.__class__ is not dict:
            return None
        value = first.get("code")
    if value.__class__ is not str:
        return None
    token = _STATUS_CODES.get(value)
    if token is None:
        token = value.strip().lower() or None
        if token is not None and len(value) <= 64 and len(_STATUS_CODES) < 1024:
            _STATUS_CODES[value] = token
    return token


_DIGITS = frozenset("0123456789")
_fromisoformat = date.fromisoformat


def parse_date(value: Any) -> date | None:
    """The calendar date of a FHIR date/dateTime/instant ("2024", "2024-05", "2024-05-01T..")."""
    # Nearly every date is "YYYY-MM-DD", maybe with a time: read its first ten characters as
    # they are. Anything else (a space first, a partial date, a bad day) takes the general path.
    if value.__class__ is str and len(value) >= 10 and value[0] in _DIGITS:
        try:
            return _fromisoformat(value[:10])
        except ValueError:
            pass
    return _parse_date(value)


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    text = value.strip()[:10]
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        if len(text) == 7:
            return date(int(text[:4]), int(text[5:7]), 1)
        if len(text) == 4:
            return date(int(text), 1, 1)
    except ValueError:
        return None
    return None


def first_date(resource: dict[str, Any], *paths: str) -> date | None:
    """The first parseable date among `paths` ("onsetDateTime", "onsetPeriod.start", ...)."""
    if not isinstance(resource, dict):
        return None
    for path in paths:
        if "." in path:
            value: Any = resource
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
        else:
            value = resource.get(path)
        if value is not None:
            found = parse_date(value)
            if found is not None:
                return found
    return None


def resource_id(resource: dict[str, Any]) -> str | None:
    value = resource.get("id")
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def reference_of(resource: dict[str, Any]) -> str:
    """ "Type/id" for evidence; "Type/?" when the resource has no id."""
    kind = resource.get("resourceType")
    kind = kind if isinstance(kind, str) else "Resource"
    rid = resource.get("id")
    if rid.__class__ is not str or not (rid := rid.strip()):
        rid = resource_id(resource) or "?"
    return f"{kind}/{rid}"


# References up to this long are remembered (4,096 of them): a caller's long string is not kept.
_REMEMBER_REFERENCE_UP_TO = 256


def split_reference(reference: Any) -> tuple[str | None, str | None]:
    """("Medication", "123") from "Medication/123", a full URL, or ".../_history/2"."""
    if not isinstance(reference, str) or "/" not in reference:
        return None, None
    if len(reference) > _REMEMBER_REFERENCE_UP_TO:
        return _split_reference.__wrapped__(reference)
    return _split_reference(reference)


@lru_cache(maxsize=4096)
def _split_reference(reference: str) -> tuple[str | None, str | None]:
    parts = [p for p in reference.strip().split("/") if p]
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) < 2:
        return None, None
    return parts[-2], parts[-1]


class ResourceIndex(Mapping[str, dict[str, Any]]):
    """The resources of one type among `resources` (as `resource_list` reads them), by id,
    indexed on first use.

    Nearly every chart names its drugs and reasons inline, so a call that never follows a
    reference never walks the resources to index them.
    """

    __slots__ = ("_by_id", "_decode", "_kind", "_resources")

    def __init__(self, resources: list[Any], kind: str, decode: Decode | None = None) -> None:
        self._resources = resources
        self._kind = kind
        self._decode = decode
        self._by_id: dict[str, dict[str, Any]] | None = None

    def _index(self) -> dict[str, dict[str, Any]]:
        if self._by_id is None:
            kind, items, decode = self._kind, self._resources, self._decode
            if decode is not None and items.__class__ is list:
                # In place, as classify decodes them: an index built mid-read (a reference
                # followed) must not leave the rest to be decoded a second time.
                for i, item in enumerate(items):
                    if item is not None and item.__class__ is not dict:
                        items[i] = decode(item)
            self._by_id = {
                rid: r
                for r in resource_list(items)
                if r.get("resourceType") == kind and (rid := resource_id(r)) is not None
            }
        return self._by_id

    def __getitem__(self, rid: str) -> dict[str, Any]:
        return self._index()[rid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index())

    def __len__(self) -> int:
        return len(self._index())


def resource_list(resources: Any, decode: Decode | None = None) -> list[dict[str, Any]]:
    """`flatten` as a list: a plain list of resource dicts (the common case) in one loop.

    `decode` (see `Decode`) is called on each item of a list that is not a dict.
    """
    if resources.__class__ is not list:
        return list(flatten(resources))
    out: list[dict[str, Any]] = []
    for item in resources:
        if item.__class__ is not dict and decode is not None:
            item = decode(item)
        if item.__class__ is dict:
            kind = item.get("resourceType")
            if kind.__class__ is str and kind != "Bundle":
                out.append(item)
                continue
        out.extend(flatten([item]))
    return out


def flatten(resources: Any) -> Iterator[dict[str, Any]]:
    """Every resource dict in `resources`, unwrapping Bundles and their entries (lenient)."""
    if isinstance(resources, dict):
        resources = [resources]
    if not isinstance(resources, Iterable) or isinstance(resources, str | bytes):
        return
    for item in resources:
        if not isinstance(item, dict):
            continue
        if item.get("resourceType") == "Bundle":
            for entry in dicts(item.get("entry")):
                inner = entry.get("resource")
                if isinstance(inner, dict):
                    yield from flatten([inner])
            continue
        if "resource" in item and "resourceType" not in item:  # a bare Bundle entry
            inner = item.get("resource")
            if isinstance(inner, dict):
                yield from flatten([inner])
            continue
        if isinstance(item.get("resourceType"), str):
            yield item
