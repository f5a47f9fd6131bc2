"""Fixtures shared by every test area."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings

FIXTURES = Path(__file__).parent / "fixtures"


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
