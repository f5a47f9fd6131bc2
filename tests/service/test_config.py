"""Configuration: env names, database URL drivers, and start-up errors that name the variable."""

from __future__ import annotations

import pytest

from service.cli.main import main
from service.config import ConfigError, load_settings


def test_defaults_are_the_embedded_ones(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("MSCDS_DATABASE_URL", raising=False)
    monkeypatch.setenv("MSCDS_DATA_DIR", str(tmp_path))
    settings = load_settings(auth="off")  # jwt, the default, needs issuers (test_auth_config)
    assert (settings.host, settings.port, settings.auth) == ("127.0.0.1", 8000, "off")
    assert settings.async_database_url == f"sqlite+aiosqlite:///{tmp_path}/feedback.db"


@pytest.mark.parametrize(
    ("url", "driver_url"),
    [
        ("sqlite:////var/lib/cds/fb.db", "sqlite+aiosqlite:////var/lib/cds/fb.db"),
        ("postgresql://cds@db:5432/cds", "postgresql+asyncpg://cds@db:5432/cds"),
        ("postgres://cds@db/cds", "postgresql+asyncpg://cds@db/cds"),
    ],
)
def test_database_url_gets_its_async_driver(
    monkeypatch: pytest.MonkeyPatch, url: str, driver_url: str
) -> None:
    monkeypatch.setenv("MSCDS_DATABASE_URL", url)
    assert load_settings().async_database_url == driver_url


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MSCDS_PORT", "eighty"),
        ("MSCDS_PORT", "70000"),
        ("MSCDS_AUTH", "maybe"),
        ("MSCDS_DATABASE_URL", "mysql://x"),
        ("MSCDS_FHIR_TIMEOUT_S", "-1"),
        ("MSCDS_LOG_LEVEL", "LOUD"),
    ],
)
def test_invalid_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_cli_reports_bad_configuration_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MSCDS_PORT", "eighty")
    assert main(["serve"]) == 2
    assert "MSCDS_PORT" in capsys.readouterr().err
