"""The OpenAPI document describes the real bodies, and the live server conforms to it.

Two layers: real answers (cards, OperationOutcomes, feedback, discovery) validate against the
document's schemas; then schemathesis generates requests from the document (valid and invalid)
against a live uvicorn server and checks: no 5xx, documented status codes and content types,
bodies that match the response schemas. `HYPOTHESIS_PROFILE=thorough` runs 1,000 per operation.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.config import Settings
from service.discovery import SERVICES
from service.http.app import create_app
from service.http.openapi import install_openapi
from tests.fixtures.reliability.threaded import ThreadedServer
from tests.service.builders import LOW_BACK_PAIN, MS, full_prefetch, hook_request

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
PV = "/cds-services/ms-back-pain-patient-view"


def _app(data_dir: Path, auth: str = "off") -> FastAPI:
    extra: dict[str, Any] = {}
    if auth == "jwt":
        extra = {"public_base_url": "https://cds.example.org", "trust_sandbox": True}
    app = create_app(Settings(data_dir=data_dir, auth=auth, fhir_servers=(), **extra))
    install_openapi(app)
    return app


DOCUMENT = _app(Path(tempfile.gettempdir()) / "mscds-openapi-never-started").openapi()


def _validator(name: str) -> Any:
    root = {"$ref": f"#/components/schemas/{name}", "components": DOCUMENT["components"]}
    return jsonschema_rs.validator_for(root)


# --- the document -------------------------------------------------------------------------------


def test_each_service_has_its_hook_request_and_documented_answers() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    for service in SERVICES.values():
        operation = DOCUMENT["paths"][f"/cds-services/{service.id}"]["post"]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        request = schemas[ref.rsplit("/", 1)[1]]
        assert request["properties"]["hook"]["const"] == service.hook
        assert set(request["required"]) == {"hook", "hookInstance", "context"}
        assert set(request["properties"]["prefetch"]["anyOf"][0]["properties"]) == set(
            service.prefetch
        )
        context = schemas[request["properties"]["context"]["$ref"].rsplit("/", 1)[1]]
        assert {"userId", "patientId"} <= set(context["required"])
        if service.hook != "patient-view":
            assert "draftOrders" in context["required"]
        assert "selections" in context["required"] or service.hook != "order-select"
        responses = operation["responses"]
        assert set(responses) >= {"200", "400", "404", "412", "500"}
        assert responses["412"]["content"]["application/fhir+json"]["schema"]["$ref"].endswith(
            "/OperationOutcome"
        )
    assert "/cds-services/{service_id}" not in DOCUMENT["paths"]
    assert "HTTPValidationError" not in schemas  # nothing answers 422


def test_jwt_mode_documents_the_bearer_scheme(tmp_path: Path) -> None:
    document = _app(tmp_path, auth="jwt").openapi()
    assert document["components"]["securitySchemes"]["cdsHooksJwt"]["scheme"] == "bearer"
    operation = document["paths"][PV]["post"]
    assert operation["security"] == [{"cdsHooksJwt": []}]
    assert "401" in operation["responses"]
    assert "security" not in document["paths"]["/health"]["get"]
    assert "securitySchemes" not in DOCUMENT["components"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with TestClient(_app(tmp_path_factory.mktemp("openapi"))) as test_client:
        yield test_client


def test_real_answers_match_the_document(client: TestClient) -> None:
    cards = client.post(PV, json=hook_request(prefetch=full_prefetch(MS, LOW_BACK_PAIN)))
    assert cards.status_code == 200 and cards.json()["cards"]
    _validator("CdsHooksResponse").validate(cards.json())
    _validator("PatientViewRequest").validate(hook_request(prefetch=full_prefetch(MS)))

    for response in (
        client.post(PV, json=hook_request()),  # no prefetch, no allowed fhirServer: 412
        client.post(PV, content=b"{"),
        client.post("/cds-services/nope", json={}),
    ):
        assert response.status_code in (400, 404, 412)
        _validator("OperationOutcome").validate(response.json())

    discovery = client.get("/cds-services")
    _validator("DiscoveryResponse").validate(discovery.json())
    item = {"card": "c-1", "outcome": "overridden", "outcomeTimestamp": "2026-01-01T00:00:00Z"}
    _validator("FeedbackRequest").validate({"feedback": [item]})
    feedback = client.post(f"{PV}/feedback", json={"feedback": [item]})
    _validator("FeedbackResponse").validate(feedback.json())


def test_schemas_reject_what_the_service_rejects(client: TestClient) -> None:
    bad = hook_request(prefetch=full_prefetch())
    del bad["context"]["patientId"]
    assert not _validator("PatientViewRequest").is_valid(bad)
    assert client.post(PV, json=bad).status_code == 400
    token_without_server = hook_request(fhirAuthorization={"access_token": "t"})
    del token_without_server["fhirServer"]
    assert not _validator("PatientViewRequest").is_valid(token_without_server)
    assert client.post(PV, json=token_without_server).status_code == 400


# --- schemathesis against a live server ---------------------------------------------------------

schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = ThreadedServer(_app(tmp_path_factory.mktemp("live")), lifespan="on").start()
    yield server.url
    server.stop()


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(
    max_examples=1000 if THOROUGH else 25,
    deadline=None,
    derandomize=not THOROUGH,
    suppress_health_check=list(HealthCheck),
)
def test_live_server_conforms_to_its_openapi(case: Any, live_url: str) -> None:
    case.call_and_validate(base_url=live_url, checks=CHECKS)
