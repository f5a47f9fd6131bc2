"""load-samples against a stand-in FHIR server that assigns ids, wants a bearer token, answers
OperationOutcomes and implements conditional update (tests/service/fhir_standin.py).

The library is driven in-process (httpx ASGITransport); the command runs against the same
stand-in served by uvicorn on a thread, so its token discovery and output are real.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm

from service.cli.main import main
from service.demo.loader import load_samples
from service.demo.samples import list_samples, load_bundle, sample_resources
from service.demo.transaction import SAMPLE_SYSTEM
from service.fhir.credentials import BearerToken
from tests.fixtures.reliability.threaded import ThreadedServer
from tests.service.fhir_standin import Client, FhirStandin

BASE = "http://fhir.test/fhir"
TODAY = date(2026, 3, 15)
TOKEN = BearerToken("valid-token")
SAMPLE_COUNT = len(list_samples())
RESOURCE_COUNT = sum(len(sample_resources(s)) for s in list_samples())


async def _load(standin: FhirStandin, **options) -> object:
    transport = httpx.ASGITransport(app=standin.app)
    async with httpx.AsyncClient(transport=transport) as client:
        options = {"credentials": TOKEN, "today": TODAY, **options}
        return await load_samples(BASE, client=client, progress=None, backoff=0, **options)


def _sample_id(resource: dict) -> str:
    (value,) = [i["value"] for i in resource["identifier"] if i["system"] == SAMPLE_SYSTEM]
    return value


async def test_loads_every_sample_and_references_resolve_to_the_ids_the_server_assigned():
    standin = FhirStandin()
    report = await _load(standin)

    assert report.ok, report.summary()
    assert len(report.loaded) == SAMPLE_COUNT == 15
    assert sum(standin.counts().values()) == RESOURCE_COUNT
    assert standin.counts()["Patient"] == 15
    assert sum(b.created for b in report.loaded) == RESOURCE_COUNT
    # The server chose the Patient ids; the report gives them from response.location.
    server_patients = standin.store["Patient"]
    for sample in list_samples():
        assigned = report.patient_ids[sample.id]
        assert assigned != sample.id and assigned in server_patients
        assert _sample_id(server_patients[assigned]) == sample.id
    # Every subject in the server points at the Patient the server created for that sample.
    original = {
        (r["resourceType"], r["id"]): r
        for sample in list_samples()
        for r in sample_resources(sample, today=TODAY)
    }
    subjects = 0
    for kind, rows in standin.store.items():
        for resource in rows.values():
            if "subject" not in resource:
                continue
            sample_patient = original[(kind, _sample_id(resource))]["subject"]["reference"]
            expected = report.patient_ids[sample_patient.removeprefix("Patient/")]
            assert resource["subject"]["reference"] == f"Patient/{expected}"
            subjects += 1
    assert subjects == RESOURCE_COUNT - SAMPLE_COUNT


async def test_a_second_run_creates_nothing_new():
    standin = FhirStandin()
    first = await _load(standin)
    counts = standin.counts()
    second = await _load(standin, today=date(2026, 4, 1))

    assert second.ok
    assert standin.counts() == counts
    assert sum(b.created for b in second.loaded) == 0
    assert sum(b.updated for b in second.loaded) == RESOURCE_COUNT
    assert second.patient_ids == first.patient_ids
    # ... and the update carried the re-shifted dates.
    patient = standin.store["Patient"][first.patient_ids["ms-acute-lbp"]]
    assert patient["meta"]["versionId"] == "2"
    assert (
        patient["birthDate"]
        == load_bundle("ms-acute-lbp", today=date(2026, 4, 1))["entry"][0]["resource"]["birthDate"]
    )


async def test_without_a_token_the_first_401_stops_loading_with_a_clear_message():
    standin = FhirStandin()
    report = await _load(standin, credentials=None)

    assert not report.ok and standin.store == {}
    (failure,) = report.failed
    assert failure.sample_id == "ms-acute-lbp" and failure.status == 401
    assert failure.message.startswith("the FHIR server requires authentication")
    assert "--token-file" in failure.message and "--client-id" in failure.message
    assert "(server: error: Unauthorized)" in failure.message
    assert len(report.skipped) == 14
    assert standin.transactions == 0
    assert "Not attempted (14): ms-spasticity," in report.summary()


async def test_a_refused_token_is_named_as_such():
    report = await _load(FhirStandin(), credentials=BearerToken("expired"), samples=["ms-no-pain"])
    assert report.failed[0].message.startswith("the FHIR server refused the access token")


def _bundle_file(tmp_path: Path, drop: tuple[str, str]) -> tuple[Path, str]:
    """ms-acute-lbp with one element removed from its first resource of a type."""
    kind, element = drop
    bundle = load_bundle("ms-acute-lbp", today=TODAY)
    resource = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind)
    del resource[element]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(bundle))
    return path, resource["id"]


async def test_a_400_operation_outcome_is_quoted_with_the_entry_it_names(tmp_path):
    path, obs_id = _bundle_file(tmp_path, ("Observation", "status"))
    standin = FhirStandin()
    report = await _load(standin, samples=[path, "ms-no-pain"])

    (failure,) = report.failed
    assert failure.status == 400
    assert failure.message == f"Observation {obs_id}: error: Observation.status is required"
    assert [b.sample_id for b in report.loaded] == ["ms-no-pain"]  # the next bundle still loads
    assert "Patient" in standin.counts() and standin.counts()["Patient"] == 1
    assert f"FAILED ms-acute-lbp: HTTP 400: Observation {obs_id}: error: Observation" in (
        report.summary()
    )


async def test_per_entry_failures_quote_each_entry_outcome(tmp_path):
    path, cond_id = _bundle_file(tmp_path, ("Condition", "subject"))
    report = await _load(FhirStandin(atomic=False), samples=[path])

    (failure,) = report.failed
    assert failure.message == "1 of 6 entries failed"
    (entry,) = failure.entries
    assert str(entry) == (
        f"Condition {cond_id}: 400 Bad Request: error: Condition.subject is required"
    )
    assert f"    Condition {cond_id}: 400 Bad Request: error: Condition.subject" in (
        report.summary()
    )


# ---- the command, against the stand-in on a real port ---------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[FhirStandin, str]]:
    standin = FhirStandin()
    server = ThreadedServer(standin.app).start()
    try:
        yield standin, f"{server.url}/fhir"
    finally:
        server.stop()


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["load-samples", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _sandbox_params(out: str) -> dict[str, str]:
    (url,) = [line.strip() for line in out.splitlines() if "sandbox.cds-hooks.org" in line]
    assert url.startswith("https://sandbox.cds-hooks.org/?")
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_command_with_a_token_file_prints_progress_ids_and_a_sandbox_link(
    served, capsys, tmp_path, monkeypatch
):
    standin, fhir = served
    monkeypatch.delenv("MSCDS_LOAD_TOKEN", raising=False)
    token_file = tmp_path / "token"
    token_file.write_text("valid-token\n")
    code, out, err = _run(capsys, "--fhir-server", fhir, "--token-file", str(token_file))

    assert code == 0, out + err
    progress = err.splitlines()
    assert len(progress) == 15
    patient = next(iter(standin.store["Patient"].values()))
    assert progress[0].startswith("[ 1/15] ms-acute-lbp: Patient/")
    assert progress[0].endswith("(6 created, 0 updated)")
    assert f"Loaded 15 of 15 sample patients into {fhir}" in out
    assert "Patient ids assigned by the server:" in out
    assert f"Patient/{patient['id']}" in out
    params = _sandbox_params(out)
    maria = standin.by_sample_id("Patient", SAMPLE_SYSTEM, "ms-acute-lbp")[0]
    assert params == {
        "fhirServiceUrl": fhir,
        "patientId": maria["id"],
        "serviceDiscoveryURL": "http://localhost:8000/cds-services",
    }
    assert "valid-token" not in out + err


def test_command_reads_the_token_from_the_environment(served, capsys, monkeypatch):
    standin, fhir = served
    monkeypatch.setenv("MSCDS_LOAD_TOKEN", "valid-token")
    code, out, _ = _run(capsys, "--fhir-server", fhir, "--service-url", "http://cds.test:9000/")
    assert code == 0 and standin.counts()["Patient"] == 15
    assert _sandbox_params(out)["serviceDiscoveryURL"] == "http://cds.test:9000/cds-services"


def test_command_without_credentials_explains_the_401(served, capsys, monkeypatch):
    _standin, fhir = served
    monkeypatch.delenv("MSCDS_LOAD_TOKEN", raising=False)
    code, out, _ = _run(capsys, "--fhir-server", fhir)
    assert code == 1
    assert "FAILED ms-acute-lbp: HTTP 401: the FHIR server requires authentication" in out
    assert "sandbox.cds-hooks.org" not in out


def _rsa_pem(tmp_path: Path) -> tuple[Path, object]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "client.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path, key


def test_smart_client_credentials_post_an_assertion_the_server_verifies(
    served, capsys, tmp_path, monkeypatch
):
    standin, fhir = served
    monkeypatch.delenv("MSCDS_LOAD_TOKEN", raising=False)
    pem, key = _rsa_pem(tmp_path)
    standin.clients["loader"] = Client(kid="loader-key-1", public_key=key.public_key())
    code, out, err = _run(
        capsys,
        "--fhir-server",
        fhir,
        "--client-id",
        "loader",
        "--private-key",
        str(pem),
        "--key-id",
        "loader-key-1",
    )

    assert code == 0, out + err
    assert standin.counts()["Patient"] == 15
    (claims,) = standin.assertions  # one token for the whole run
    token_url = fhir.removesuffix("/fhir") + "/auth/token"  # found via smart-configuration
    assert claims["iss"] == claims["sub"] == "loader" and claims["aud"] == token_url
    assert claims["exp"] - claims["iat"] <= 300
    (form,) = standin.token_forms
    assert form == {
        "grant_type": "client_credentials",
        "scope": "system/*.write",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    }
    issued = standin.tokens - {"valid-token"}
    assert issued and not any(token in out + err for token in issued)


def test_smart_with_an_ec_jwk_and_a_given_token_url(served, capsys, tmp_path):
    standin, fhir = served
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**ECAlgorithm.to_jwk(key, as_dict=True), "kid": "ec-jwk", "alg": "ES384"}
    path = tmp_path / "client.jwk.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    standin.clients["ec-client"] = Client(kid="ec-jwk", public_key=key.public_key())
    token_url = fhir.removesuffix("/fhir") + "/auth/token"
    code, out, _ = _run(
        capsys,
        "--fhir-server",
        fhir,
        "--client-id",
        "ec-client",
        "--private-key",
        str(path),
        "--token-url",
        token_url,
        "--scope",
        "system/Patient.write system/Observation.write",
    )
    assert code == 0, out
    assert standin.token_forms[0]["scope"] == "system/Patient.write system/Observation.write"
    assert standin.assertions[0]["aud"] == token_url


def test_smart_with_an_unregistered_key_fails_before_loading(served, capsys, tmp_path):
    standin, fhir = served
    pem, _key = _rsa_pem(tmp_path)
    registered = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    standin.clients["loader"] = Client(kid="k", public_key=registered.public_key())
    code, out, err = _run(
        capsys,
        "--fhir-server",
        fhir,
        "--client-id",
        "loader",
        "--private-key",
        str(pem),
        "--key-id",
        "k",
    )
    assert code == 1 and out == ""
    assert "refused the client credentials (HTTP 401): invalid_client" in err
    assert standin.transactions == 0 and standin.store == {}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--client-id", "x"], "--client-id and --private-key go together"),
        (["--token", "t", "--client-id", "x"], "not both"),
        (["--token-url", "http://t.test/token"], "go with --client-id"),
        (["--token-file", "/nonexistent/token"], "cannot read the token file"),
        (["--client-id", "x", "--private-key", "/nonexistent/key.pem"], "cannot read"),
    ],
)
def test_command_rejects_inconsistent_credentials(capsys, argv, message):
    code, _, err = _run(capsys, "--fhir-server", BASE, *argv)
    assert code == 2 and message in err
