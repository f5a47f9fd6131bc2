"""Demo mode trusts the public Sandbox key, so it refuses to start beside production trust: a real
issuer's or FHIR server's settings next to it would let anyone who signs with that key in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli.main import main
from service.config import ConfigError, Settings, check_auth, load_settings
from service.http import shutdown
from service.http.app import create_app
from tests.service.auth_helpers import ISS, ec_key, jwks

ROOT = Path(__file__).resolve().parents[3]
ISSUERS = json.dumps([{"iss": ISS, "jwks": jwks(ec_key())}])
FHIR_SERVERS = json.dumps(["https://ehr.example-hospital.org/fhir/r4"])


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, object]:
    """What `serve` would have run uvicorn with (nothing, when it refuses)."""
    ran: dict[str, object] = {}
    monkeypatch.setattr(shutdown, "run", lambda app, **kwargs: ran.update(kwargs, app=app))
    monkeypatch.setenv("MSCDS_DATA_DIR", str(tmp_path))
    return ran


def test_serve_demo_with_production_settings_exits_2_naming_them(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MSCDS_DATA_DIR": str(tmp_path),
        "MSCDS_TRUSTED_ISSUERS": ISSUERS,
        "MSCDS_FHIR_SERVERS": FHIR_SERVERS,
        "MSCDS_PUBLIC_BASE_URL": "https://cds.example-hospital.org",
    }
    result = subprocess.run(
        [sys.executable, "-m", "service.cli.main", "serve", "--demo", "--port", "8799"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "MSCDS_TRUSTED_ISSUERS and MSCDS_FHIR_SERVERS" in result.stderr
    assert "demo mode refuses to start" in result.stderr
    assert "Demo mode:" not in result.stderr  # refused before the banner
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [("MSCDS_TRUSTED_ISSUERS", ISSUERS), ("MSCDS_FHIR_SERVERS", FHIR_SERVERS)],
)
@pytest.mark.parametrize("how", ["--demo", "MSCDS_DEMO"])
def test_either_setting_alone_is_refused(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    served: dict[str, object],
    variable: str,
    value: str,
    how: str,
) -> None:
    monkeypatch.setenv(variable, value)
    argv = ["serve"]
    if how == "--demo":
        argv.append("--demo")
    else:
        monkeypatch.setenv("MSCDS_DEMO", "true")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"demo mode refuses to start with {variable} set" in err
    assert served == {}  # no server was started


@pytest.mark.parametrize(
    "production",
    [
        {"trusted_issuers": [{"iss": ISS, "jwks": jwks(ec_key())}]},
        {"fhir_servers": ["https://x.org/fhir"]},
    ],
)
def test_settings_and_the_app_refuse_the_combination(tmp_path: Path, production: dict) -> None:
    settings = Settings(data_dir=tmp_path, demo=True, **production)
    with pytest.raises(ConfigError, match="demo mode refuses to start"):
        check_auth(settings)
    with pytest.raises(ConfigError, match="demo mode refuses to start"):
        create_app(settings)  # as each worker process builds it
    create_app(settings.model_copy(update={"demo": False, "auth": "off"}))  # fine outside demo


def test_demo_mode_alone_and_with_what_it_may_keep_starts(
    monkeypatch: pytest.MonkeyPatch, served: dict[str, object]
) -> None:
    assert main(["serve", "--demo"]) == 0
    assert served["app"] is not None
    # A base URL of its own and the explicit Sandbox opt-in add no production trust.
    monkeypatch.setenv("MSCDS_PUBLIC_BASE_URL", "http://localhost:8000")
    monkeypatch.setenv("MSCDS_TRUST_SANDBOX", "true")
    monkeypatch.setenv("MSCDS_TRUSTED_ISSUERS", "[]")
    assert load_settings(demo=True).demo
    assert main(["serve", "--demo"]) == 0
