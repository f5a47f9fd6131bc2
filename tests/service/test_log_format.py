"""Every log line is a JSON object, the server's own lines included, and the lines a caller can
cause without a token carry at most a few characters of its choosing, at a bounded rate."""

from __future__ import annotations

import io
import json
import logging
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service import logs
from service.config import Settings
from service.http.app import create_app
from service.logs import CALLER_VALUE_CHARS, SERVER_LOGGER, JsonFormatter, JsonLines, LineBudget
from tests.fixtures.reliability.server import ServerProcess
from tests.service.auth_helpers import (
    BASE,
    DISCOVERY,
    ISS,
    LogCapture,
    bearer,
    ec_key,
    jwks,
    token,
)

INVALID = "Invalid HTTP request received."


# --- the server's loggers -----------------------------------------------------------------------


def test_a_server_record_is_a_json_line_without_its_exception_text() -> None:
    try:
        raise ValueError("Bearer eyJhbGciOi.secret")
    except ValueError:
        record = logging.getLogger("uvicorn.error").makeRecord(
            "uvicorn.error", logging.ERROR, "", 0, "Exception in ASGI application", (), None
        )
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert json.loads(line) | {"time": 0} == {
        "time": 0,
        "level": "error",
        "event": "server",
        "logger": "uvicorn.error",
        "message": "Exception in ASGI application",
        "error": "ValueError",
    }
    assert "secret" not in line and "Traceback" not in line


@pytest.fixture
def server_lines() -> Iterator[io.StringIO]:
    """What the handler `configure` put on uvicorn's loggers writes. (Other tests run uvicorn in
    this process, which sets "uvicorn.error"'s level as they ask: it is reset here, as `serve`
    leaves it.)"""
    error = logging.getLogger("uvicorn.error")
    saved = error.level, error.propagate, error.disabled
    error.setLevel(logging.NOTSET)
    error.propagate, error.disabled = True, False
    logs.configure("INFO")
    (handler,) = [h for h in logging.getLogger(SERVER_LOGGER).handlers if isinstance(h, JsonLines)]
    written = io.StringIO()
    previous = handler.setStream(written)
    try:
        yield written
    finally:
        handler.setStream(previous)
        error.setLevel(saved[0])
        error.propagate, error.disabled = saved[1], saved[2]


def test_uvicorn_loggers_write_json_lines(server_lines: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    logging.getLogger("uvicorn.error").warning(INVALID)
    logging.getLogger("uvicorn").debug("below the level")
    lines = [json.loads(line) for line in server_lines.getvalue().splitlines()]
    assert [(x["level"], x["logger"], x["message"]) for x in lines] == [
        ("info", "uvicorn.error", "Started server process [42]"),
        ("warning", "uvicorn.error", INVALID),
    ]
    assert {x["event"] for x in lines} == {"server"}
    assert not logging.getLogger(SERVER_LOGGER).propagate  # nothing reaches the root logger


def test_the_same_server_line_is_written_at_most_ten_times_a_second(
    server_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(logs, "refusals", LineBudget(clock=clock))
    for _ in range(50):
        logging.getLogger("uvicorn.error").warning(INVALID)
    logging.getLogger("uvicorn.error").warning("Exceeded concurrency limit.")
    written = [json.loads(line)["message"] for line in server_lines.getvalue().splitlines()]
    assert written == [INVALID] * logs.LINES_PER_SECOND + ["Exceeded concurrency limit."]
    clock.now += 1.0
    logging.getLogger("uvicorn.error").warning(INVALID)
    assert server_lines.getvalue().count(INVALID) == logs.LINES_PER_SECOND + 1


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"MSCDS_LOG_LEVEL": "INFO", "MSCDS_SHUTDOWN_DELAY_S": "0"}
    server = ServerProcess(tmp_path_factory.mktemp("log-format"), env=env).start()
    yield server
    server.stop()


def test_serve_writes_only_json_lines_and_counts_what_it_held_back(served: ServerProcess) -> None:
    for _ in range(50):
        with socket.create_connection(("127.0.0.1", served.port)) as sock:
            sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            sock.settimeout(20)
            assert sock.recv(4096).startswith(b"HTTP/1.1 400 ")
    served.stop()  # the held-back count goes out as the app shuts down
    text = served.log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # all JSON
    messages = [x.get("message") for x in lines if x["event"] == "server"]
    assert any(m.startswith("Started server process") for m in messages)
    assert any(m.startswith("Uvicorn running on") for m in messages)
    invalid = messages.count(INVALID)
    held = sum(
        x["suppressed"] for x in lines if x["event"] == "log_suppressed" and x["kind"] == [INVALID]
    )
    assert invalid < 50
    assert invalid + held == 50


# --- refusals -----------------------------------------------------------------------------------


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path,
        auth="jwt",
        public_base_url=BASE,
        trusted_issuers=[{"iss": ISS, "jwks": jwks(ec_key())}],
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_caller_chosen_values_in_auth_failures_are_cut(api: TestClient) -> None:
    long_kid = "K" * 200
    long_iss = "https://" + "i" * 200
    long_path = "/cds-services/" + "p" * 200
    with LogCapture() as capture:
        api.get(DISCOVERY, headers=bearer(token(DISCOVERY, headers={"kid": long_kid})))
        api.get(DISCOVERY, headers=bearer(token(DISCOVERY, iss=long_iss)))
        api.post(long_path, json={}, headers=bearer("x" * 300))
    unknown_kid, untrusted, malformed = capture.events("auth_failed")
    assert unknown_kid["kid"] == "K" * CALLER_VALUE_CHARS + "…"
    assert untrusted["iss"] == long_iss[:CALLER_VALUE_CHARS] + "…"
    assert malformed["path"] == long_path[:CALLER_VALUE_CHARS] + "…"
    assert unknown_kid["path"] == DISCOVERY  # short values whole
    for line in capture.lines:
        assert "K" * (CALLER_VALUE_CHARS + 1) not in line
        assert "p" * CALLER_VALUE_CHARS not in line


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_auth_failures_are_logged_at_most_ten_a_second_per_reason_then_counted(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    budget = LineBudget(clock=clock)
    monkeypatch.setattr(logs, "refusals", budget)
    with LogCapture() as capture:
        for _ in range(30):
            assert api.get(DISCOVERY).status_code == 401  # no bearer token
        assert api.get(DISCOVERY, headers=bearer("not-a-jwt")).status_code == 401
        assert len(capture.events("auth_failed")) == logs.LINES_PER_SECOND + 1
        assert capture.events("log_suppressed") == []
        clock.now += 1.0
        budget.flush()
        assert api.get(DISCOVERY).status_code == 401  # a new second: written again
    (held,) = capture.events("log_suppressed")
    assert held["of"] == "auth_failed"
    assert held["kind"] == ["no bearer token"]
    assert held["suppressed"] == 30 - logs.LINES_PER_SECOND
    reasons = [x["reason"] for x in capture.events("auth_failed")]
    assert reasons.count("no bearer token") == logs.LINES_PER_SECOND + 1
    assert reasons.count("malformed token") == 1  # another reason has a budget of its own


def test_a_budget_forgets_kinds_beyond_its_bound_after_reporting_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    budget = LineBudget(per_second=1, clock=clock)
    monkeypatch.setattr(logs, "MAX_KINDS", 3)
    with LogCapture() as capture:
        logs.configure("INFO")
        for kind in ("a", "b", "c"):
            assert budget.allow(("e", kind))
            assert not budget.allow(("e", kind))
        assert budget.allow(("e", "d"))  # a fourth kind: the three are reported and forgotten
    assert [x["kind"] for x in capture.events("log_suppressed")] == [["a"], ["b"], ["c"]]
    assert budget.allow(("e", "a"))  # a fresh budget


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("short", "short"),
        ("x" * CALLER_VALUE_CHARS, "x" * CALLER_VALUE_CHARS),
        ("x" * (CALLER_VALUE_CHARS + 1), "x" * CALLER_VALUE_CHARS + "…"),
        (None, None),
        (401, 401),
        (["a" * 100], str(["a" * 100])[:CALLER_VALUE_CHARS] + "…"),
    ],
)
def test_caller_value(value: object, expected: object) -> None:
    assert logs.caller_value(value) == expected
