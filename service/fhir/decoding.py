"""Reading a hook call: body -> validated request and context, or a 400 that names the problem."""

from __future__ import annotations

from typing import Any, TypedDict, TypeVar

import msgspec
import orjson
from pydantic import BaseModel, ValidationError

from mappings.elements import (
    BUNDLE_ELEMENTS,
    ENTRY_ELEMENTS,
    RESOURCE_ELEMENTS,
    STATUS_CODING_ELEMENTS,
    STATUS_CONCEPT_ELEMENTS,
    STATUS_ELEMENTS,
)
from service.discovery import ServiceDefinition
from service.http.errors import HTTPProblem
from service.protocol import CONTEXT_MODELS, HookRequest, describe_errors

M = TypeVar("M", bound=BaseModel)


def parse_body(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise HTTPProblem(400, "the request body is empty; expected a JSON object")
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HTTPProblem(400, f"the request body is not valid JSON ({exc.msg})") from None
    if not isinstance(payload, dict):
        raise HTTPProblem(400, "the request body must be a JSON object")
    return payload


# The shape of a hook body as the service reads it. Prefetch values (a resource, or a Bundle of
# them) keep only the elements `mappings` reads: msgspec skips the rest (narrative, meta,
# identifiers: most of a chart's bytes) without building objects for them, which makes the parse
# cheaper than orjson building the whole tree, and linear in size (docs/performance.md). Every other
# part of the body is decoded whole. Bodies of any other shape (a Bundle entry that is not an
# object, say) take the lenient path below, which refuses what it always refused. Two differences
# remain, both in what JSON allows: a number beyond a double's range in a skipped element is not
# looked at, and an integer beyond 64 bits stays an int (orjson made it a float). A status keeps
# only its codes and text (mappings.elements): the common shapes are typed, and a status of any
# other shape sends the whole body down the lenient path.
_StatusCoding = TypedDict(  # type: ignore[misc]
    "_StatusCoding", {name: Any for name in STATUS_CODING_ELEMENTS}, total=False
)
_StatusConcept = TypedDict(  # type: ignore[misc]
    "_StatusConcept",
    {name: Any for name in STATUS_CONCEPT_ELEMENTS} | {"coding": "list[_StatusCoding] | None"},
    total=False,
)
_Status = str | _StatusConcept | list[_StatusConcept] | None


def _resource_shape(name: str, entry: str) -> Any:
    """A prefetch value's shape, its Bundle entries being `entry` (a name, for recursion)."""
    return TypedDict(  # type: ignore[operator]  # a TypedDict made at run time
        name,
        dict.fromkeys(RESOURCE_ELEMENTS | BUNDLE_ELEMENTS, Any)
        | dict.fromkeys(STATUS_ELEMENTS, _Status)
        | {"entry": f"list[{entry}] | None"},
        total=False,
    )


_Entry = TypedDict(  # type: ignore[misc]
    "_Entry", {name: Any for name in ENTRY_ELEMENTS} | {"resource": "_Resource | None"}, total=False
)
_Resource = _resource_shape("_Resource", "_Entry")


# With `defer_entries`, a prefetch Bundle's entries keep their resource as it was sent (a
# msgspec.Raw: a view of the body, checked as JSON but not decoded), and `EntryDecoder` decodes
# each, as `_Resource`, when mappings reaches it. Decoded at once, a large chart is more objects
# than the CPU's caches hold, so decoding it and then reading it fetches every object from memory
# twice; decoded one by one, each is read and freed while still in the caches, and the next one
# reuses its memory. The price is a second pass over each entry's bytes. Smaller bodies, whose
# objects fit in the caches, are decoded at once. `bench/asgi.py --defer always|never` measures
# the threshold (docs/performance.md).
DEFER_ENTRIES_ABOVE = 1024 * 1024


def defers_entries(raw: bytes) -> bool:
    """Whether a body this size is read with its entries left encoded (`DEFER_ENTRIES_ABOVE`)."""
    return len(raw) > DEFER_ENTRIES_ABOVE


_DeferredEntry = TypedDict(  # type: ignore[misc]
    "_DeferredEntry",
    {name: Any for name in ENTRY_ELEMENTS} | {"resource": msgspec.Raw},
    total=False,
)
_DeferringResource = _resource_shape("_DeferringResource", "_DeferredEntry")


def _hook_body(name: str, prefetch_value: Any) -> Any:
    return TypedDict(  # type: ignore[operator]  # a TypedDict made at run time
        name,
        {
            "hook": Any,
            "hookInstance": Any,
            "fhirServer": Any,
            "fhirAuthorization": Any,
            "context": Any,
            "prefetch": dict[str, prefetch_value | None] | None,
            "extension": Any,
        },
        total=False,
    )


_DECODER = msgspec.json.Decoder(_hook_body("_HookBody", _Resource))
_DEFERRING_DECODER = msgspec.json.Decoder(_hook_body("_DeferringHookBody", _DeferringResource))
_RESOURCE_DECODER = msgspec.json.Decoder(_Resource)


def read_body(raw: bytes, *, defer_entries: bool = False) -> dict[str, Any]:
    """The hook body, with prefetch reduced to what `mappings` reads (see `_HookBody`), and with
    its Bundle entries' resources left encoded when `defer_entries` (see `EntryDecoder`).

    Only a valid JSON object of the expected shape takes the fast path; anything else is parsed
    by `parse_body`, whose errors name the problem. Non-ASCII bodies are checked as UTF-8 first,
    since msgspec does not look inside the strings it skips.
    """
    if raw.isascii() or _valid_utf8(raw):
        try:
            return (_DEFERRING_DECODER if defer_entries else _DECODER).decode(raw)
        except (msgspec.MsgspecError, RecursionError, ValueError):
            pass
    return parse_body(raw)


class EntryDecoder:
    """Decodes the resources `read_body(defer_entries=True)` left encoded, as the eager reading
    would have decoded them (a `mappings.fhir.Decode`).

    `redo` turns True when one needs what only the eager reading does: an OperationOutcome (the
    prefetch key may have to be fetched instead), or a resource neither msgspec's reduced shape
    nor orjson reads (the eager reading answers 400). The caller then reads the body again the
    eager way, so that deferring never changes an answer.
    """

    __slots__ = ("redo",)

    def __init__(self) -> None:
        self.redo = False

    def __call__(self, item: Any) -> Any:
        if item.__class__ is not msgspec.Raw:
            return item
        try:
            resource = _RESOURCE_DECODER.decode(item)
        except (msgspec.MsgspecError, RecursionError, ValueError):
            try:
                resource = orjson.loads(memoryview(item))
            except orjson.JSONDecodeError:
                self.redo = True
                return None
        if resource.__class__ is not dict:
            return None  # the eager reading skips an entry whose resource is not an object
        if resource.get("resourceType") == "OperationOutcome":
            self.redo = True
        return resource


def _valid_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def validate(model: type[M], data: Any, prefix: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise HTTPProblem(400, describe_errors(exc, prefix)) from None


def read_hook_request(
    service: ServiceDefinition, raw: bytes, *, defer_entries: bool = False
) -> HookRequest:
    """The request, checked against the service's hook and that hook's required context."""
    request = validate(HookRequest, read_body(raw, defer_entries=defer_entries))
    if request.hook != service.hook:
        raise HTTPProblem(
            400, f"hook {request.hook!r} does not match service {service.id!r} ({service.hook})"
        )
    validate(CONTEXT_MODELS[service.hook], request.context, prefix="context.")
    return request
