"""The service's own FHIR queries are percent-encoded; discovery shows the templates as written.

`code=http://loinc.org|98979-8`: a `|` is not a character a URL may carry as written (RFC 3986),
and strict servers and proxies refuse it. The EHR fills and encodes the templates it gets from
discovery itself, so those keep the spec's unencoded form; the queries the service sends are
encoded. Checked against a real FHIR search (the demo FHIR store of the sample patients, served by
uvicorn on a loopback port) that records each raw query string: with no prefetch at all, every
sample patient earns the same cards as with the Sandbox-style prefetch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.config import Settings
from service.demo.fhir_server import DemoFhirStore, demo_fhir_router
from service.demo.samples import list_samples
from service.discovery import PREFETCH, fill_template
from service.http.app import create_app
from tests.fixtures.reliability.threaded import ThreadedServer

PV = "/cds-services/ms-back-pain-patient-view"


class RawQueries:
    """ASGI middleware noting every raw query string the FHIR server receives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[str] = []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen.append(scope["query_string"].decode("latin-1"))
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def fhir() -> Iterator[tuple[RawQueries, str]]:
    app = FastAPI()
    app.include_router(demo_fhir_router(DemoFhirStore.from_samples()), prefix="/fhir")
    recorder = RawQueries(app)
    server = ThreadedServer(recorder).start()
    yield recorder, f"{server.url}/fhir"
    server.stop()


@pytest.fixture(scope="module")
def api(
    fhir: tuple[RawQueries, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("encoding"),
        auth="off",
        fhir_servers=(fhir[1],),
        fhir_timeout_s=5.0,
        log_level="WARNING",
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_discovery_shows_the_templates_unencoded(api: TestClient) -> None:
    for service in api.get("/cds-services").json()["services"]:
        assert service["prefetch"] == PREFETCH
        assert "http://loinc.org|98979-8" in service["prefetch"]["egfr"]
        assert "%7C" not in "".join(service["prefetch"].values())


def test_a_filled_template_encodes_the_bar_and_the_context_value() -> None:
    query = fill_template(PREFETCH["egfr"], {"patientId": "a b/c"})
    assert query is not None
    assert query.startswith("Observation?patient=a%20b%2Fc&code=http://loinc.org%7C")
    assert "|" not in query and "&_sort=-date&_count=50" in query
    assert fill_template("Condition?code=http://snomed.info/sct%7C1", {}) == (
        "Condition?code=http://snomed.info/sct%7C1"  # written encoded: kept as written
    )


def _kinds(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(c["source"]["topic"]["code"] for c in response.json()["cards"])


@pytest.mark.parametrize("sample", list_samples(), ids=lambda s: s.id)
def test_fetched_queries_are_encoded_and_find_the_same_data(
    api: TestClient, fhir: tuple[RawQueries, str], sample: Any
) -> None:
    recorder, base = fhir
    recorder.seen.clear()
    body = {
        "hook": "patient-view",
        "hookInstance": f"encoding-{sample.id}",
        "fhirServer": base,
        "context": {"userId": "Practitioner/doc-1", "patientId": sample.id},
    }
    fetched = _kinds(api.post(PV, json=body))
    assert sorted(fetched) == sorted(sample.cards)
    observations = [q for q in recorder.seen if "code=" in q]
    assert len(observations) == 2  # eGFR and pain scores
    assert all("http://loinc.org%7C" in q for q in observations)
    assert not any("|" in q for q in recorder.seen)
