"""The security configuration contract: exact MSCDS_* names, secure defaults, loud failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli.main import main
from service.config import ConfigError, Settings, load_settings
from service.http import security
from service.http.app import create_app
from tests.service.auth_helpers import ISS, ec_key, jwks

GOOD_ISSUER = {"iss": ISS, "jwks_url": "https://ehr.example.org/.well-known/jwks.json"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "AUTH",
        "TRUSTED_ISSUERS",
        "PUBLIC_BASE_URL",
        "FHIR_SERVERS",
        "CORS_ORIGINS",
        "CORS_ALLOW_PRIVATE_NETWORK",
        "MAX_BODY_BYTES",
        "REDIS_URL",
        "TRUST_SANDBOX",
        "DEMO",
    ):
        monkeypatch.delenv(f"MSCDS_{name}", raising=False)
    monkeypatch.setenv("MSCDS_DATA_DIR", str(tmp_path))


def test_secure_defaults() -> None:
    settings = load_settings()
    assert settings.auth == "jwt"
    assert settings.trusted_issuers == ()
    assert settings.fhir_servers == ()
    assert settings.cors_origins == ()
    assert settings.max_body_bytes == 5 * 1024 * 1024
    assert not settings.trust_sandbox and not settings.cors_allow_private_network
    assert security.fhir_servers(settings) == []
    assert security.cors_origins(settings) == ([], None)


def test_full_configuration_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key_file = tmp_path / "ehr-jwks.json"
    key_file.write_text(json.dumps(jwks(ec_key())))
    issuers = [
        GOOD_ISSUER | {"jku_allowlist": ["https://ehr.example.org/jwks2"], "tenants": ["t1"]},
        {"iss": "https://b.example.org", "jwks_file": str(key_file), "algorithms": ["RS256"]},
        {"iss": "https://c.example.org", "jwks": jwks(ec_key())},
    ]
    monkeypatch.setenv("MSCDS_TRUSTED_ISSUERS", json.dumps(issuers))
    monkeypatch.setenv("MSCDS_PUBLIC_BASE_URL", "https://cds.example.org/")
    monkeypatch.setenv("MSCDS_FHIR_SERVERS", '["https://ehr.example.org/fhir/r4/"]')
    monkeypatch.setenv("MSCDS_CORS_ORIGINS", '["https://ehr.example.org"]')
    monkeypatch.setenv("MSCDS_CORS_ALLOW_PRIVATE_NETWORK", "true")
    monkeypatch.setenv("MSCDS_MAX_BODY_BYTES", "100000")
    monkeypatch.setenv("MSCDS_REDIS_URL", "redis://127.0.0.1:6379/0")
    settings = load_settings()
    assert [i.iss for i in settings.trusted_issuers] == [ISS, issuers[1]["iss"], issuers[2]["iss"]]
    assert settings.trusted_issuers[0].algorithms == ("ES384", "RS384")  # the default
    assert settings.trusted_issuers[0].tenants == ("t1",)
    assert settings.public_base_url == "https://cds.example.org"
    assert settings.fhir_servers == ("https://ehr.example.org/fhir/r4",)
    assert settings.cors_origins == ("https://ehr.example.org",)
    assert settings.cors_allow_private_network
    assert (settings.max_body_bytes, settings.redis_url) == (100000, "redis://127.0.0.1:6379/0")
    create_app(settings)  # starts


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[{", "not valid JSON"),
        ('{"iss": "x"}', "JSON array"),
        (json.dumps([{"iss": ISS}]), "exactly one of jwks, jwks_file, jwks_url (got none)"),
        (
            json.dumps([GOOD_ISSUER | {"jwks": jwks(ec_key())}]),
            "exactly one of jwks, jwks_file, jwks_url (got jwks, jwks_url)",
        ),
        (json.dumps([GOOD_ISSUER | {"algorithms": ["HS256"]}]), "not allowed"),
        (json.dumps([GOOD_ISSUER | {"algorithms": ["none"]}]), "not allowed"),
        (json.dumps([GOOD_ISSUER | {"algorithms": []}]), "must not be empty"),
        (json.dumps([{"iss": ISS, "jwks_url": "http://keys.example.org/j"}]), "must use https"),
        (json.dumps([GOOD_ISSUER | {"jku_allowlist": ["ftp://x/y"]}]), "not an absolute"),
        (json.dumps([{"iss": ISS, "jwks_file": "/nonexistent/jwks.json"}]), "cannot read"),
        (json.dumps([{"iss": ISS, "jwks": {"keys": []}}]), "no EC or RSA signature key"),
        (json.dumps([{"iss": ISS, "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}]), "no EC"),
        (json.dumps([GOOD_ISSUER | {"issuer": "typo"}]), "Extra inputs"),
    ],
)
def test_bad_trusted_issuers_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("MSCDS_TRUSTED_ISSUERS", value)
    with pytest.raises(ConfigError, match="MSCDS_TRUSTED_ISSUERS") as caught:
        load_settings()
    assert message in str(caught.value)


def test_private_key_in_the_jwks_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from jwt.algorithms import ECAlgorithm

    private = ECAlgorithm.to_jwk(ec_key().private, as_dict=True) | {"kid": "k"}
    monkeypatch.setenv(
        "MSCDS_TRUSTED_ISSUERS", json.dumps([{"iss": ISS, "jwks": {"keys": [private]}}])
    )
    with pytest.raises(ConfigError, match="private key"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MSCDS_PUBLIC_BASE_URL", "cds.example.org"),
        ("MSCDS_PUBLIC_BASE_URL", "https://cds.example.org/?x=1"),
        ("MSCDS_FHIR_SERVERS", '["ftp://ehr/fhir"]'),
        ("MSCDS_FHIR_SERVERS", "https://ehr.example.org/fhir"),
        ("MSCDS_CORS_ORIGINS", '["*"]'),
        ("MSCDS_CORS_ORIGINS", '["https://ehr.example.org/app"]'),
        ("MSCDS_MAX_BODY_BYTES", "ten"),
        ("MSCDS_REDIS_URL", "http://127.0.0.1:6379"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_jwt_without_public_base_url_does_not_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, trusted_issuers=[GOOD_ISSUER])
    with pytest.raises(ConfigError, match="MSCDS_PUBLIC_BASE_URL is required"):
        create_app(settings)


def test_jwt_without_issuers_does_not_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, public_base_url="https://cds.example.org")
    with pytest.raises(ConfigError, match="MSCDS_TRUSTED_ISSUERS is empty"):
        create_app(settings)


def test_same_issuer_twice_does_not_start(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, public_base_url="https://x.org", trusted_issuers=[GOOD_ISSUER] * 2
    )
    with pytest.raises(ConfigError, match="same iss twice"):
        create_app(settings)


def test_cli_serve_refuses_an_unusable_jwt_setup(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve"]) == 2
    assert "MSCDS_PUBLIC_BASE_URL" in capsys.readouterr().err


def test_trust_sandbox_adds_the_sandbox_issuer_with_its_bundled_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, public_base_url="https://x.org", trust_sandbox=True)
    create_app(settings)  # the Sandbox alone is a usable issuer
    (sandbox,) = security.trusted_issuers(settings)
    assert sandbox.iss == "https://sandbox.cds-hooks.org"
    assert sandbox.jwks["keys"][0]["kid"] == "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
    assert sandbox.algorithms == ("ES384",)
    assert sandbox.jku_allowlist == ()  # its key ships with the service: nothing is fetched


def test_demo_mode_opens_exactly_the_development_paths(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, demo=True, port=8123)
    create_app(settings)  # no base URL or issuer needed
    assert [i.iss for i in security.trusted_issuers(settings)] == ["https://sandbox.cds-hooks.org"]
    assert security.public_base_urls(settings) == [
        "http://127.0.0.1:8123",
        "http://localhost:8123",
    ]
    assert security.fhir_servers(settings) == [
        "http://127.0.0.1:8123/fhir",
        "http://localhost:8123/fhir",
    ]
    origins, pattern = security.cors_origins(settings)
    assert origins == ["https://sandbox.cds-hooks.org"] and pattern
    allowed = security.fhir_server_allowed(settings)
    assert allowed("http://localhost:8123/fhir") and allowed("http://127.0.0.1:8123/fhir/")
    assert not allowed("http://127.0.0.1:8124/fhir")
    assert not allowed("https://launch.smarthealthit.org/v/r4/fhir")


def test_demo_mode_keeps_a_configured_base_url_and_refuses_issuers(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, demo=True, port=8000, public_base_url="https://cds.example.org"
    )
    assert security.public_base_urls(settings)[0] == "https://cds.example.org"
    create_app(settings)
    # Beside the public Sandbox key, real issuers and FHIR servers would be open to anyone
    # (tests/service/demo/test_demo_refusal.py).
    with pytest.raises(ConfigError, match="MSCDS_TRUSTED_ISSUERS and MSCDS_FHIR_SERVERS"):
        create_app(
            Settings(
                data_dir=tmp_path,
                demo=True,
                trusted_issuers=[GOOD_ISSUER],
                fhir_servers=["https://ehr.example.org/fhir"],
            )
        )
