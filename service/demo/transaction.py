"""The transaction `load-samples` sends to a real FHIR server, and what it reads back.

The stored samples use fixed ids (``PUT Patient/ms-acute-lbp``) because the demo FHIR endpoint
serves them as they are. Many servers assign their own ids and refuse client-chosen ones, so the
loader sends each resource without its id, tagged with a sample identifier
(``urn:ms-backpain-cds:sample|<the stored id>``), as a conditional update
(``PUT Patient?identifier=...``): the server updates the resource holding that identifier, or
creates one with an id of its own, so a re-run changes nothing but the dates. Every entry gets a
``urn:uuid:`` fullUrl and references between entries point at it; FHIR R4 transaction processing
rewrites them to the ids the server assigns (http.html#trules).
"""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

__all__ = [
    "SAMPLE_SYSTEM",
    "EntryError",
    "EntryRef",
    "EntryResult",
    "conditional_transaction",
    "entry_results",
    "outcome_text",
    "response_outcome",
]

SAMPLE_SYSTEM = "urn:ms-backpain-cds:sample"
"""Identifier system owned by this project; the value is the resource's id in the stored sample."""

_ENTRY_INDEX = re.compile(r"Bundle\.entry\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class EntryRef:
    """What one transaction entry carries, named the way the sample files name it."""

    resource_type: str
    sample_id: str

    def __str__(self) -> str:
        return f"{self.resource_type} {self.sample_id}"


@dataclass(frozen=True, slots=True)
class EntryResult:
    """One entry of a transaction-response, next to the entry that was sent."""

    entry: EntryRef
    status: str  # e.g. "201 Created"; "" when the server left it out
    server_id: str | None  # from response.location
    outcome: str  # the entry's OperationOutcome, quoted; "" when none

    @property
    def ok(self) -> bool:
        return self.status[:1] in ("", "2")

    @property
    def created(self) -> bool:
        return self.status.startswith("201")


@dataclass(frozen=True, slots=True)
class EntryError:
    entry: EntryRef
    status: str
    message: str

    def __str__(self) -> str:
        return f"{self.entry}: {self.status or 'failed'}: {self.message or 'no details'}"


def _full_url(resource_type: str, sample_id: str) -> str:
    # Deterministic, so loading the same sample twice sends the same Bundle.
    name = f"{SAMPLE_SYSTEM}|{resource_type}/{sample_id}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def _with_sample_identifier(resource: dict[str, Any], sample_id: str) -> dict[str, Any]:
    sent = {k: v for k, v in resource.items() if k != "id"}
    kept = [
        i
        for i in resource.get("identifier") or []
        if not (isinstance(i, dict) and i.get("system") == SAMPLE_SYSTEM)
    ]
    sent["identifier"] = [*kept, {"system": SAMPLE_SYSTEM, "value": sample_id}]
    return sent


def _rewrite_references(data: Any, targets: dict[str, str]) -> None:
    if isinstance(data, dict):
        reference = data.get("reference")
        if isinstance(reference, str) and reference in targets:
            data["reference"] = targets[reference]
        for value in data.values():
            _rewrite_references(value, targets)
    elif isinstance(data, list):
        for value in data:
            _rewrite_references(value, targets)


def conditional_transaction(bundle: dict[str, Any]) -> tuple[dict[str, Any], list[EntryRef]]:
    """The sample Bundle as a transaction of conditional updates keyed on the sample identifier,
    with the entry each position stands for. Entries whose resource has no id are sent as given.
    """
    entries: list[dict[str, Any]] = []
    refs: list[EntryRef] = []
    targets: dict[str, str] = {}
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        resource_type = str(resource.get("resourceType") or "")
        sample_id = resource.get("id")
        if not isinstance(sample_id, str) or not sample_id:
            entries.append(copy.deepcopy(entry))
            refs.append(EntryRef(resource_type, "(no id)"))
            continue
        full_url = _full_url(resource_type, sample_id)
        targets[f"{resource_type}/{sample_id}"] = full_url
        search = quote(f"{SAMPLE_SYSTEM}|{sample_id}", safe=":")
        entries.append(
            {
                "fullUrl": full_url,
                "resource": _with_sample_identifier(copy.deepcopy(resource), sample_id),
                "request": {"method": "PUT", "url": f"{resource_type}?identifier={search}"},
            }
        )
        refs.append(EntryRef(resource_type, sample_id))
    _rewrite_references(entries, targets)
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}, refs


# ---- reading the answer -------------------------------------------------------------------


def outcome_text(outcome: Any, refs: list[EntryRef] | None = None) -> str:
    """An OperationOutcome's issues as one line (diagnostics, else details.text, else code).

    With `refs`, an issue pointing at ``Bundle.entry[N]`` is prefixed with the entry it means.
    """
    if not isinstance(outcome, dict) or outcome.get("resourceType") != "OperationOutcome":
        return ""
    parts = []
    for issue in outcome.get("issue") or []:
        if not isinstance(issue, dict):
            continue
        details = issue.get("details")
        if not isinstance(details, dict):
            details = {}
        text = str(issue.get("diagnostics") or details.get("text") or issue.get("code") or "")
        where = ""
        if refs:
            pointers = [*(issue.get("expression") or []), *(issue.get("location") or []), text]
            for pointer in pointers:
                found = _ENTRY_INDEX.search(str(pointer))
                if found and int(found.group(1)) < len(refs):
                    where = f"{refs[int(found.group(1))]}: "
                    break
        parts.append(f"{where}{issue.get('severity', 'error')}: {text}".strip())
    return "; ".join(parts)


def response_outcome(response: httpx.Response, refs: list[EntryRef] | None = None) -> str:
    """The OperationOutcome of a failed response, or the start of its body when it is not one."""
    try:
        body = response.json()
    except ValueError:
        body = None
    quoted = outcome_text(body, refs)
    if quoted:
        return quoted
    text = " ".join(response.text.split())
    return (text[:300] + "…") if len(text) > 300 else (text or response.reason_phrase)


def _id_from_location(location: Any, resource_type: str) -> str | None:
    """``Patient/123/_history/1`` (relative or absolute) -> ``123``."""
    if not isinstance(location, str) or not location:
        return None
    segments = [s for s in urlsplit(location).path.split("/") if s]
    if "_history" in segments:
        segments = segments[: segments.index("_history")]
    if len(segments) >= 2 and segments[-2] == resource_type:
        return segments[-1]
    return None


def entry_results(body: Any, refs: list[EntryRef]) -> list[EntryResult]:
    """Pair the entries of a transaction-response with the entries sent (same order, per R4)."""
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        return []
    results = []
    for ref, entry in zip(refs, body.get("entry") or [], strict=False):
        answer = (entry or {}).get("response") if isinstance(entry, dict) else None
        answer = answer if isinstance(answer, dict) else {}
        status = answer.get("status")
        results.append(
            EntryResult(
                entry=ref,
                status=status.strip() if isinstance(status, str) else "",
                server_id=_id_from_location(answer.get("location"), ref.resource_type),
                outcome=outcome_text(answer.get("outcome")),
            )
        )
    return results
