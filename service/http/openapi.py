"""The OpenAPI document: the real request and response bodies of every endpoint.

The handlers read raw bodies (the measured fast path), so FastAPI cannot infer them; this
module describes them from the same pydantic models that validate requests (`service.protocol`)
and build cards (`cards.model`), so the document cannot drift from what the code enforces. Each
CDS service gets its own concrete path, with the context its hook requires and the prefetch keys
it declares; every error is a FHIR OperationOutcome.

`install_openapi(app)` replaces `app.openapi`; the document is built once, on first request.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cards.model import Action, Card
from service.discovery import SERVICES, ServiceDefinition
from service.http import api_docs
from service.protocol import CONTEXT_MODELS, FeedbackRequest, HookRequest

REF = "#/components/schemas/{model}"
FHIR_JSON = "application/fhir+json"
JSON = "application/json"

OPERATION_OUTCOME: dict[str, Any] = {
    "title": "OperationOutcome",
    "description": "A FHIR R4 OperationOutcome naming what went wrong (no input values).",
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string", "minLength": 1},
                    "diagnostics": {"type": "string"},
                },
            },
        },
    },
}

CDS_RESPONSE: dict[str, Any] = {
    "title": "CdsHooksResponse",
    "description": "Cards sorted critical, warning, info; `cards` may be empty, never absent.",
    "type": "object",
    "required": ["cards"],
    "properties": {
        "cards": {"type": "array", "items": {"$ref": REF.format(model="Card")}},
        "systemActions": {"type": "array", "items": {"$ref": REF.format(model="Action")}},
    },
}

DISCOVERY: dict[str, Any] = {
    "title": "DiscoveryResponse",
    "type": "object",
    "required": ["services"],
    "properties": {
        "services": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["hook", "id", "description", "prefetch"],
                "properties": {
                    "hook": {"type": "string"},
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "usageRequirements": {"type": "string"},
                    "prefetch": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
        }
    },
}

FEEDBACK_RESPONSE: dict[str, Any] = {
    "title": "FeedbackResponse",
    "description": "`stored` counts new items; a repeat is acknowledged but stored once.",
    "type": "object",
    "required": ["received", "stored"],
    "properties": {
        "received": {"type": "integer", "minimum": 1},
        "stored": {"type": "integer", "minimum": 0},
    },
}

RETRY_AFTER: dict[str, Any] = {
    "description": "Seconds to wait before sending this batch again.",
    "schema": {"type": "integer", "minimum": 1},
}

_ERRORS = {
    400: "The body is not JSON, not an object, or not a valid request (named in diagnostics).",
    401: "No valid JWT (MSCDS_AUTH=jwt).",
    404: "No CDS service with this id.",
    408: "The request body was not complete within MSCDS_BODY_READ_TIMEOUT_S; the connection "
    "is closed.",
    412: "Required prefetch data could be had neither from prefetch nor from fhirServer.",
    413: "The request body is larger than MSCDS_MAX_BODY_BYTES.",
    429: "This client sent more than MSCDS_FEEDBACK_RATE feedback items in the last minute; "
    "Retry-After says when to retry.",
    500: "An unexpected error while evaluating the hook.",
    503: "The feedback store or token verification is temporarily unavailable; retry later.",
}


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (and /openapi.json, /docs) describe the real bodies, and serve the
    documentation pages with their assets from the service itself (`service.http.api_docs`)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            settings = getattr(app.state, "settings", None)
            jwt = getattr(settings, "auth", "jwt") == "jwt"
            app.openapi_schema = describe(document, jwt=jwt)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    api_docs.install(app)  # /docs and /redoc without a CDN


def describe(document: dict[str, Any], *, jwt: bool) -> dict[str, Any]:
    """`document` with the CDS Hooks endpoints described by their real bodies."""
    document = copy.deepcopy(document)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_model_schemas())
    schemas.update(
        OperationOutcome=OPERATION_OUTCOME,
        CdsHooksResponse=CDS_RESPONSE,
        DiscoveryResponse=DISCOVERY,
        FeedbackResponse=FEEDBACK_RESPONSE,
    )
    for service in SERVICES.values():
        schemas[_request_name(service)] = _hook_request_schema(service, schemas["HookRequest"])

    paths = document.setdefault("paths", {})
    for generated in ("/cds-services/{service_id}", "/cds-services/{service_id}/feedback"):
        paths.pop(generated, None)
    paths["/cds-services"] = {"get": _discovery_operation()}
    for service in SERVICES.values():
        paths[f"/cds-services/{service.id}"] = {"post": _hook_operation(service)}
        paths[f"/cds-services/{service.id}/feedback"] = {"post": _feedback_operation(service)}
    paths["/health"] = {"get": _health_operation()}
    paths["/health/ready"] = {"get": _ready_operation()}

    if jwt:
        document["components"]["securitySchemes"] = {
            "cdsHooksJwt": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "A CDS Hooks client JWT signed by a trusted issuer (ES384/RS384).",
            }
        }
        for path, item in paths.items():
            if path.startswith("/cds-services"):
                for operation in item.values():
                    operation["security"] = [{"cdsHooksJwt": []}]
                    operation["responses"].setdefault("401", _error(401))
    _drop_unused(document)
    return document


def _model_schemas() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = [
        (HookRequest, "validation"),
        (FeedbackRequest, "validation"),
        *((model, "validation") for model in CONTEXT_MODELS.values()),
        (Card, "serialization"),
        (Action, "serialization"),
    ]
    _, top = models_json_schema(models, ref_template=REF)
    return top.get("$defs", {})


def _request_name(service: ServiceDefinition) -> str:
    return "".join(part.title() for part in service.hook.split("-")) + "Request"


def _hook_request_schema(service: ServiceDefinition, base: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(base)
    schema["title"] = _request_name(service)
    schema["description"] = f"A CDS Hooks 2.0 `{service.hook}` request."
    properties = schema["properties"]
    properties["hook"] = {"type": "string", "const": service.hook}
    context = CONTEXT_MODELS[service.hook].__name__
    properties["context"] = {"$ref": REF.format(model=context)}
    properties["prefetch"] = {
        "anyOf": [
            {
                "type": "object",
                "description": "Keys this service declares; null means the EHR found nothing.",
                "properties": {
                    key: {
                        "description": f"The result of {template}",
                        "anyOf": [
                            {"type": "object", "required": ["resourceType"]},
                            {"type": "null"},
                        ],
                    }
                    for key, template in service.prefetch.items()
                },
            },
            {"type": "null"},
        ]
    }
    schema["dependentRequired"] = {"fhirAuthorization": ["fhirServer"]}
    return schema


def _body(schema_name: str, media: str = JSON) -> dict[str, Any]:
    return {"content": {media: {"schema": {"$ref": REF.format(model=schema_name)}}}}


def _error(status: int) -> dict[str, Any]:
    return {"description": _ERRORS[status], **_body("OperationOutcome", FHIR_JSON)}


def _hook_operation(service: ServiceDefinition) -> dict[str, Any]:
    return {
        "summary": service.title,
        "description": service.description,
        "operationId": f"call_{service.id.replace('-', '_')}",
        "tags": ["CDS services"],
        "requestBody": {"required": True, **_body(_request_name(service))},
        "responses": {
            "200": {"description": "The cards for this call.", **_body("CdsHooksResponse")},
            **{str(status): _error(status) for status in (400, 404, 408, 412, 413, 500)},
        },
    }


def _feedback_operation(service: ServiceDefinition) -> dict[str, Any]:
    return {
        "summary": f"Feedback on {service.id} cards",
        "description": "Stored durably and idempotently: one row per distinct item, however "
        "often it is sent. A batch (at most 50 items) is stored whole or not at all.",
        "operationId": f"feedback_{service.id.replace('-', '_')}",
        "tags": ["CDS services"],
        "requestBody": {"required": True, **_body("FeedbackRequest")},
        "responses": {
            "200": {"description": "Received and stored.", **_body("FeedbackResponse")},
            **{str(status): _error(status) for status in (400, 404, 408, 413, 503)},
            "429": {**_error(429), "headers": {"Retry-After": RETRY_AFTER}},
        },
    }


def _discovery_operation() -> dict[str, Any]:
    return {
        "summary": "CDS Hooks discovery",
        "operationId": "discovery",
        "tags": ["CDS services"],
        "responses": {"200": {"description": "The services.", **_body("DiscoveryResponse")}},
    }


def _status_schema(value: str) -> dict[str, Any]:
    return {
        "content": {
            JSON: {
                "schema": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"const": value}},
                }
            }
        }
    }


def _health_operation() -> dict[str, Any]:
    return {
        "summary": "Liveness: the process answers",
        "operationId": "health",
        "tags": ["health"],
        "responses": {"200": {"description": "Alive.", **_status_schema("ok")}},
    }


def _ready_operation() -> dict[str, Any]:
    return {
        "summary": "Readiness: started, not stopping, database reachable",
        "operationId": "ready",
        "tags": ["health"],
        "responses": {
            "200": {"description": "Ready for traffic.", **_status_schema("ready")},
            "503": {
                "description": (
                    "Starting, shutting down, or the database or the replay store is unreachable."
                ),
                **_body("OperationOutcome", FHIR_JSON),
            },
        },
    }


def _drop_unused(document: dict[str, Any]) -> None:
    """Remove FastAPI's 422 schemas when no path refers to them: no endpoint answers 422."""
    if REF.format(model="HTTPValidationError") not in json.dumps(document["paths"]):
        for name in ("HTTPValidationError", "ValidationError"):
            document["components"]["schemas"].pop(name, None)
