"""Fixtures shared by every test area."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings

from service.config import Settings
from service.fhir import decoding as hooks
from service.http.app import create_app

FIXTURES = Path(__file__).parent / "fixtures"

# Timings belong in the benchmark: a property test's first example may load the terminology or
# meet a busy machine, which Hypothesis's default 200 ms deadline reported as a failure.
hypothesis_settings.register_profile("suite", deadline=None)
hypothesis_settings.load_profile("suite")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded defaults in a temporary data directory, with a short FHIR time budget."""
    return Settings(
        data_dir=tmp_path,
        auth="off",
        # MSCDS_FHIR_SERVERS: builders.FHIR_BASE and the fhirServers of the Sandbox captures.
        fhir_servers=(
            "https://ehr.example.org/fhir",
            "http://127.0.0.1:8090/fhir",
            "http://127.0.0.1:8000/fhir",
            "http://hooks.smarthealthit.org:9080",
        ),
        fhir_timeout_s=1.0,
        log_level="INFO",
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(params=["as-by-size", "all-deferred"])
def entry_reading(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test both ways the hook endpoint reads a prefetch Bundle: as it does for a body of
    the test's size (eagerly: test bodies are small), and with every Bundle entry left encoded
    until read, as it does for large bodies (`service.fhir.decoding.DEFER_ENTRIES_ABOVE`)."""
    if request.param == "all-deferred":
        monkeypatch.setattr(hooks, "DEFER_ENTRIES_ABOVE", -1)
    return request.param
