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
from service.outcome import HTTPProblem
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
# identifiers: most of a chart's bytes) without building objects for them, which made the parse
# 1.3x (50 resources) to 3x (5,000) cheaper than orjson building the whole tree, and linear in
# size. Every other part of the body is decoded whole. Bodies of any other shape (a Bundle entry
# that is not an object, say) take the lenient path below, which refuses what it always refused.
# Two differences remain, both in what JSON allows: a number beyond a double's range in a skipped
# element is not looked at, and an integer beyond 64 bits stays an int (orjson made it a float).
# A status keeps only its codes and text (mappings.elements): the common shapes are typed, and a
# status of any other shape sends the whole body down the lenient path.
_StatusCoding = TypedDict(  # type: ignore[misc]
    "_StatusCoding", {name: Any for name in STATUS_CODING_ELEMENTS}, total=False
)
_StatusConcept = TypedDict(  # type: ignore[misc]
    "_StatusConcept",
    {name: Any for name in STATUS_CONCEPT_ELEMENTS} | {"coding": "list[_StatusCoding] | None"},
    total=False,
)
_Status = str | _StatusConcept | list[_StatusConcept] | None
_Entry = TypedDict(  # type: ignore[misc]
    "_Entry", {name: Any for name in ENTRY_ELEMENTS} | {"resource": "_Resource | None"}, total=False
)
_Resource = TypedDict(  # type: ignore[misc]
    "_Resource",
    {name: Any for name in RESOURCE_ELEMENTS | BUNDLE_ELEMENTS}
    | dict.fromkeys(STATUS_ELEMENTS, _Status)
    | {"entry": "list[_Entry] | None"},
    total=False,
)


class _HookBody(TypedDict, total=False):
    hook: Any
    hookInstance: Any
    fhirServer: Any
    fhirAuthorization: Any
    context: Any
    prefetch: dict[str, _Resource | None] | None
    extension: Any


_DECODER = msgspec.json.Decoder(_HookBody)


def read_body(raw: bytes) -> dict[str, Any]:
    """The hook body, with prefetch reduced to what `mappings` reads (see `_HookBody`).

    Only a valid JSON object of the expected shape takes the fast path; anything else is parsed
    by `parse_body`, whose errors name the problem. Non-ASCII bodies are checked as UTF-8 first,
    since msgspec does not look inside the strings it skips.
    """
    if raw.isascii() or _valid_utf8(raw):
        try:
            return _DECODER.decode(raw)
        except (msgspec.MsgspecError, RecursionError, ValueError):
            pass
    return parse_body(raw)


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


def read_hook_request(service: ServiceDefinition, raw: bytes) -> HookRequest:
    """The request, checked against the service's hook and that hook's required context."""
    request = validate(HookRequest, read_body(raw))
    if request.hook != service.hook:
        raise HTTPProblem(
            400, f"hook {request.hook!r} does not match service {service.id!r} ({service.hook})"
        )
    validate(CONTEXT_MODELS[service.hook], request.context, prefix="context.")
    return request
