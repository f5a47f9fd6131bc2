"""Demo mode: the sample patients at /fhir, open to the Sandbox, and the service calling itself."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.config import Settings
from service.demo.samples import list_samples
from service.http.app import create_app


def test_demo_mode_serves_samples_without_a_token_and_keeps_hooks_protected(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, demo=True, port=8000)  # auth stays jwt
    first = list_samples()[0]
    # Demo mode answers only calls addressed to localhost
    # (tests/service/http/test_http_hardening.py)
    with TestClient(create_app(settings), base_url="http://localhost:8000") as client:
        metadata = client.get("/fhir/metadata")
        assert metadata.status_code == 200
        assert metadata.json()["resourceType"] == "CapabilityStatement"
        patient = client.get(f"/fhir/Patient/{first.patient_id}")
        assert patient.json()["id"] == first.patient_id
        # The hooks themselves still need the Sandbox's JWT.
        assert client.get("/cds-services").status_code == 401


def test_without_demo_mode_there_is_no_fhir_endpoint(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        assert client.get("/fhir/metadata").status_code == 404
