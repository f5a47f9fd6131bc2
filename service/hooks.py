"""Reading a hook call: body -> validated request and context, or a 400 that names the problem."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

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


def validate(model: type[M], data: Any, prefix: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise HTTPProblem(400, describe_errors(exc, prefix)) from None


def read_hook_request(service: ServiceDefinition, raw: bytes) -> HookRequest:
    """The request, checked against the service's hook and that hook's required context."""
    request = validate(HookRequest, parse_body(raw))
    if request.hook != service.hook:
        raise HTTPProblem(
            400, f"hook {request.hook!r} does not match service {service.id!r} ({service.hook})"
        )
    validate(CONTEXT_MODELS[service.hook], request.context, prefix="context.")
    return request
