"""A `patientId` the FHIR server does not know: still 200 (no such patient is not an error), but a
warning line with the hook instance, so a call answered with no cards for that reason is found.

Against the fault server's `patient-404` base (a real local server whose Patient read answers
404 with an OperationOutcome); the log line never carries the patient id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.http.app import create_app
from service.logs import LOGGER_NAME, JsonFormatter
from tests.fixtures.reliability.fault_fhir import FaultServer
from tests.service.builders import LOW_BACK_PAIN, MS, full_prefetch, hook_request

PV = "/cds-services/ms-back-pain-patient-view"
UNKNOWN = "no-such-patient-7f3a"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def log_lines() -> Iterator[list[dict[str, Any]]]:
    handler = Lines()
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    fault_server = FaultServer().start()
    yield fault_server
    fault_server.stop()


@pytest.fixture(scope="module")
def api(server: FaultServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("unknown-patient"),
        auth="off",
        fhir_servers=(server.root,),
        fhir_timeout_s=2.0,
        log_level="INFO",
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _not_found(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["event"] == "not_found"]


def test_a_patient_read_404_is_a_warning_with_the_hook_instance(
    api: TestClient, server: FaultServer, log_lines: list[dict[str, Any]]
) -> None:
    body = hook_request(fhirServer=server.base("patient-404"), context={"patientId": UNKNOWN})
    response = api.post(PV, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["cards"] == []
    (line,) = _not_found(log_lines)
    assert line["level"] == "warning"
    assert line["hookInstance"] == body["hookInstance"]
    assert (line["key"], line["resource"], line["source"]) == ("patient", "Patient", "fhirServer")
    assert all(UNKNOWN not in json.dumps(entry) for entry in log_lines)


def test_a_null_patient_in_the_prefetch_is_a_warning_too(
    api: TestClient, server: FaultServer, log_lines: list[dict[str, Any]]
) -> None:
    prefetch = full_prefetch(MS, LOW_BACK_PAIN)
    prefetch["patient"] = None
    body = hook_request(prefetch=prefetch, fhirServer=server.base("healthy"))
    assert api.post(PV, json=body).status_code == 200
    (line,) = _not_found(log_lines)
    assert (line["level"], line["hookInstance"]) == ("warning", body["hookInstance"])
    assert line["source"] == "prefetch"


def test_a_known_patient_logs_no_warning(
    api: TestClient, server: FaultServer, log_lines: list[dict[str, Any]]
) -> None:
    body = hook_request(fhirServer=server.base("healthy"))
    assert api.post(PV, json=body).json()["cards"]
    assert _not_found(log_lines) == []
    assert {line["level"] for line in log_lines if line["event"] == "hook"} == {"info"}
