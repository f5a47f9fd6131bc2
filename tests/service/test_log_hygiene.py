"""No access token, JWT, or patient name/identifier in any log output, on any path.

The app runs under a real uvicorn server (configured as `ms-backpain-cds serve` does) so the
server's own loggers are part of what is captured: the service logger, the root logger (uvicorn,
httpx, SQLAlchemy, asyncio propagate there) and the process's stderr.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
import uvicorn

from service import pipeline
from service.auth.trust import TrustedIssuer
from service.config import Settings
from service.http import app as app_module
from service.http.app import create_app
from service.logs import LOGGER_NAME
from tests.service.auth_helpers import (
    BASE,
    DISCOVERY,
    FEEDBACK,
    ISS,
    PATIENT_VIEW,
    LogCapture,
    bearer,
    ec_key,
    jwks,
    token,
)
from tests.service.builders import FHIR_BASE, LOW_BACK_PAIN, MS, bundle, full_prefetch

FHIR_TOKEN = "fhir-access-token-Q7hT2pLx9Vw"
GIVEN, FAMILY = "Zebulon", "Quixotic-Marchetti"
MRN = "MRN-99887766"


def service_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)


def named_patient() -> dict:
    patient = full_prefetch()["patient"]
    return {
        **patient,
        "name": [{"given": [GIVEN], "family": FAMILY, "text": f"{GIVEN} {FAMILY}"}],
        "identifier": [{"system": "urn:oid:1.2.3.4", "value": MRN}],
        "telecom": [{"system": "phone", "value": "+1-555-0199"}],
    }


def fhir_authorization() -> dict:
    return {
        "access_token": FHIR_TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "ms-backpain-cds",
    }


def request_body(fhir_server: str = FHIR_BASE, **changes: object) -> dict:
    prefetch = full_prefetch(MS, LOW_BACK_PAIN)
    prefetch["patient"] = named_patient()
    del prefetch["conditions"]  # fetched from the FHIR server with the access token
    body = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": fhir_server,
        "fhirAuthorization": fhir_authorization(),
        "context": {"userId": "Practitioner/doc-1", "patientId": "pat-1"},
        "prefetch": prefetch,
    }
    body.update(changes)
    return body


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    settings = Settings(
        data_dir=tmp_path,
        auth="jwt",
        public_base_url=BASE,
        trusted_issuers=(TrustedIssuer(iss=ISS, jwks=jwks(ec_key())),),
        fhir_servers=(FHIR_BASE,),
        fhir_timeout_s=2.0,
        log_level="DEBUG",
    )
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=0,
        log_config=None,  # as `serve` runs it
        access_log=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        assert thread.is_alive(), "server failed to start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_no_secret_or_patient_data_reaches_any_log(
    server: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    # The service's stderr handler holds the stream it found at start-up: read what it writes.
    stderr_lines = io.StringIO()
    (stream_handler,) = [h for h in service_logger().handlers if getattr(h, "_mscds", False)]
    original_stream = stream_handler.setStream(stderr_lines)
    jwts: list[str] = []

    def jwt_for(path: str, **claims: object) -> dict[str, str]:
        value = token(path, **claims)
        jwts.append(value)
        return bearer(value)

    statuses: dict[str, int] = {}
    with LogCapture() as service_log, respx.mock(assert_all_called=False) as mock:
        mock.route(host="127.0.0.1").pass_through()
        conditions = mock.get(f"{FHIR_BASE}/Condition").respond(json=bundle(MS, LOW_BACK_PAIN))
        with httpx.Client(base_url=server, timeout=10) as http:
            # 200: cards, with one key fetched using the access token.
            ok = http.post(PATIENT_VIEW, json=request_body(), headers=jwt_for(PATIENT_VIEW))
            statuses["200"] = ok.status_code
            assert ok.json()["cards"], "a named MS patient with back pain gets cards"
            assert conditions.calls[0].request.headers["authorization"] == f"Bearer {FHIR_TOKEN}"
            statuses["discovery"] = http.get(DISCOVERY, headers=jwt_for(DISCOVERY)).status_code
            feedback = {
                "feedback": [
                    {
                        "card": "4e0a3a1e-3283-4575-ab82-028d55fe2719",
                        "outcome": "overridden",
                        "overrideReason": {"userComment": f"{GIVEN} {FAMILY} {MRN} declined"},
                        "outcomeTimestamp": "2026-11-20T10:06:00Z",
                    }
                ]
            }
            statuses["feedback"] = http.post(
                FEEDBACK, json=feedback, headers=jwt_for(FEEDBACK)
            ).status_code

            # 412: an unlisted server, and a listed one that refuses the token.
            statuses["412-unlisted"] = http.post(
                PATIENT_VIEW,
                json=request_body("https://elsewhere.example.org/fhir"),
                headers=jwt_for(PATIENT_VIEW),
            ).status_code
            conditions.respond(401, json={"resourceType": "OperationOutcome", "issue": []})
            statuses["412-refused"] = http.post(
                PATIENT_VIEW, json=request_body(), headers=jwt_for(PATIENT_VIEW)
            ).status_code

            # 400: validation errors on values that hold patient data.
            statuses["400-hook"] = http.post(
                PATIENT_VIEW,
                json=request_body(hook=f"{GIVEN} {FAMILY}"),
                headers=jwt_for(PATIENT_VIEW),
            ).status_code
            statuses["400-context"] = http.post(
                PATIENT_VIEW,
                json=request_body(context={"userId": MRN, "patientId": {"name": FAMILY}}),
                headers=jwt_for(PATIENT_VIEW),
            ).status_code
            statuses["400-json"] = http.post(
                PATIENT_VIEW,
                content=f'{{"name": "{GIVEN} {FAMILY}", "token": "{FHIR_TOKEN}"'.encode(),
                headers={**jwt_for(PATIENT_VIEW), "Content-Type": "application/json"},
            ).status_code
            statuses["400-feedback"] = http.post(
                FEEDBACK,
                json={"feedback": [{"card": MRN, "outcome": FAMILY}]},
                headers=jwt_for(FEEDBACK),
            ).status_code

            # 401: expired, wrong audience, and the FHIR token presented as a JWT.
            statuses["401-expired"] = http.post(
                PATIENT_VIEW,
                json=request_body(),
                headers=jwt_for(
                    PATIENT_VIEW, exp=int(time.time()) - 600, iat=int(time.time()) - 900
                ),
            ).status_code
            statuses["401-aud"] = http.post(
                PATIENT_VIEW, json=request_body(), headers=jwt_for(DISCOVERY)
            ).status_code
            statuses["401-fhir-token"] = http.post(
                PATIENT_VIEW, json=request_body(), headers=bearer(FHIR_TOKEN)
            ).status_code
            replayed = jwt_for(PATIENT_VIEW)
            http.post(PATIENT_VIEW, json=request_body(), headers=replayed)
            statuses["401-replay"] = http.post(
                PATIENT_VIEW, json=request_body(), headers=replayed
            ).status_code

            # 500: failures whose messages carry the secrets.
            secret_message = f"{GIVEN} {FAMILY} {MRN} {FHIR_TOKEN} {jwts[0]}"

            def explode(*args: object, **kwargs: object) -> None:
                raise ValueError(secret_message)

            conditions.respond(json=bundle(MS, LOW_BACK_PAIN))
            monkeypatch.setattr(pipeline, "evaluate", explode)
            statuses["500-hook"] = http.post(
                PATIENT_VIEW, json=request_body(), headers=jwt_for(PATIENT_VIEW)
            ).status_code
            monkeypatch.setattr(app_module, "discovery_document", explode)
            statuses["500-discovery"] = http.get(DISCOVERY, headers=jwt_for(DISCOVERY)).status_code

    assert statuses == {
        "200": 200,
        "discovery": 200,
        "feedback": 200,
        "412-unlisted": 412,
        "412-refused": 412,
        "400-hook": 400,
        "400-context": 400,
        "400-json": 400,
        "400-feedback": 400,
        "401-expired": 401,
        "401-aud": 401,
        "401-fhir-token": 401,
        "401-replay": 401,
        "500-hook": 500,
        "500-discovery": 500,
    }
    stream_handler.setStream(original_stream)
    captured = capfd.readouterr()
    root_output = caplog.text + "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {getattr(r, 'fields', '')}" for r in caplog.records
    )
    outputs = {
        "service logger": "\n".join(service_log.lines),
        "root logger": root_output,
        "stderr": stderr_lines.getvalue() + captured.err,
        "stdout": captured.out,
    }
    # The capture works: the service logged each kind of event.
    events = {line.split('"event":"')[1].split('"')[0] for line in service_log.lines}
    assert {"hook", "feedback", "auth_failed", "unhandled_error"} <= events
    assert '"event":"auth_failed"' in outputs["stderr"]  # the JSON lines were captured
    secrets = [FHIR_TOKEN, GIVEN, FAMILY, MRN, "555-0199", *jwts]
    secrets += [j.split(".")[2] for j in jwts]  # not even a signature
    for where, text in outputs.items():
        for secret in secrets:
            assert secret not in text, f"{secret[:24]}... found in {where}"


def test_serve_runs_uvicorn_without_access_log_or_its_log_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Access-log lines would carry paths and client addresses of every call: keep them off."""
    from service.cli import main as cli
    from service.http import shutdown

    ran: dict[str, object] = {}
    monkeypatch.setattr(shutdown, "run", lambda app, **kwargs: ran.update(kwargs))
    monkeypatch.setenv("MSCDS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MSCDS_AUTH", "off")
    assert cli.main(["serve", "--port", "8765"]) == 0
    assert ran["access_log"] is False
    assert ran["log_config"] is None
    assert ran["drain_delay_s"] == 2.0  # MSCDS_SHUTDOWN_DELAY_S default: graceful SIGTERM
