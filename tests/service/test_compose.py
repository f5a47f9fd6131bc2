"""docker-compose.yml wiring, checked as data (no Docker engine runs on the test machines)."""

from __future__ import annotations

from pathlib import Path

import yaml

from service.config import Settings

ROOT = Path(__file__).parents[2]


def test_compose_runs_the_service_with_postgres_and_hapi() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"cds", "postgres", "hapi"}

    cds = services["cds"]
    assert cds["build"] == "."
    assert "8000:8000" in cds["ports"]
    env = cds["environment"]
    assert env["MSCDS_DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in env["MSCDS_DATABASE_URL"]
    pg_env = services["postgres"]["environment"]
    user, password, db = pg_env["POSTGRES_USER"], pg_env["POSTGRES_PASSWORD"], pg_env["POSTGRES_DB"]
    assert env["MSCDS_DATABASE_URL"] == f"postgresql://{user}:{password}@postgres:5432/{db}"
    assert cds["depends_on"]["postgres"]["condition"] == "service_healthy"
    # The service may call HAPI by its in-network name, and the env values parse as settings.
    settings = Settings(
        **{k.removeprefix("MSCDS_").lower(): v for k, v in env.items() if k != "MSCDS_HOST"}
    )
    assert settings.fhir_servers == ("http://hapi:8080/fhir",)
    assert settings.async_database_url.startswith("postgresql+asyncpg://")
    assert "/health/ready" in " ".join(cds["healthcheck"]["test"])

    assert services["hapi"]["image"].startswith("hapiproject/hapi")
    assert "8080:8080" in services["hapi"]["ports"]
    assert services["hapi"]["environment"]["hapi.fhir.fhir_version"] == "R4"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_dockerfile_installs_the_project_and_serves_on_all_interfaces() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("service", "mappings", "cards"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert "MSCDS_HOST=0.0.0.0" in dockerfile
    assert 'CMD ["ms-backpain-cds", "serve"]' in dockerfile
    assert "USER cds" in dockerfile
