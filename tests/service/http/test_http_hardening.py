"""The HTTP surface in production: no API map without a token, headers that keep patient data out
of caches and browsers' guesses, no redirect built from the Host header, the Host check of demo
mode, and deadlines for clients that send slowly (in the app, and against a real `serve`)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn
from fastapi.testclient import TestClient

from service.config import Settings, load_settings
from service.http import dispatch
from service.http.app import create_app
from service.http.middleware import local_host
from service.http.slow_clients import (
    HTTP_PROTOCOL,
    BodyReadTimeout,
    deadline_receive,
    header_read_timeout,
)
from tests.fixtures.reliability.server import ServerProcess
from tests.service.auth_helpers import BASE, ISS, ec_key, jwks
from tests.service.builders import LOW_BACK_PAIN, MS, full_prefetch, hook_request

PV = "/cds-services/ms-back-pain-patient-view"
FEEDBACK = f"{PV}/feedback"
ITEM = {"card": "c-1", "outcome": "overridden", "outcomeTimestamp": "2026-01-01T00:00:00Z"}
DOC_PATHS = ("/docs", "/redoc", "/openapi.json")
LOCAL = "http://localhost:8000"


def jwt_settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        data_dir=tmp_path,
        auth="jwt",
        public_base_url=BASE,
        trusted_issuers=[{"iss": ISS, "jwks": jwks(ec_key())}],
        **extra,
    )


# --- API documentation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "api_docs", "served"),
    [
        ("jwt", None, False),  # production: off unless asked for
        ("jwt", True, True),
        ("off", None, True),
        ("off", False, False),
        ("demo", None, True),
        ("demo", False, False),
    ],
)
def test_api_docs_are_off_in_production_unless_switched_on(
    tmp_path: Path, mode: str, api_docs: bool | None, served: bool
) -> None:
    if mode == "jwt":
        settings = jwt_settings(tmp_path, api_docs=api_docs)
    else:
        settings = Settings(data_dir=tmp_path, auth="off", demo=mode == "demo", api_docs=api_docs)
    with TestClient(create_app(settings), base_url=LOCAL) as client:
        for path in DOC_PATHS:
            response = client.get(path)
            assert response.status_code == (200 if served else 404), path
        if served:
            assert "/cds-services" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(("value", "expected"), [("on", True), ("off", False), ("true", True)])
def test_mscds_api_docs_reads_on_and_off(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv("MSCDS_API_DOCS", value)
    monkeypatch.setenv("MSCDS_AUTH", "jwt")
    assert load_settings().docs_enabled is expected


# --- headers ----------------------------------------------------------------------------------


def assert_private(response: Any) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


@pytest.fixture
def fast_path_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The service ids answered by the hook fast path (service/http/dispatch.py), as they happen."""
    calls: list[str] = []
    answer = dispatch.HookApp._answer

    async def counted(self, endpoint, service_id, scope, receive, send) -> None:
        calls.append(service_id)
        await answer(self, endpoint, service_id, scope, receive, send)

    monkeypatch.setattr(dispatch.HookApp, "_answer", counted)
    return calls


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (hook_request(prefetch=full_prefetch(MS, LOW_BACK_PAIN)), 200),
        (hook_request(prefetch=None), 412),
        ({"hook": "patient-view"}, 400),
    ],
)
@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "whole-stack"])
def test_hook_answers_are_private_both_ways(
    client: TestClient, fast_path_calls: list[str], body: dict, status: int, fast: bool
) -> None:
    # An Origin header sends the call through the middleware stack.
    headers = {} if fast else {"Origin": "https://elsewhere.example.org"}
    response = client.post(PV, json=body, headers=headers)
    assert response.status_code == status
    assert fast_path_calls == (["ms-back-pain-patient-view"] if fast else [])
    assert_private(response)
    assert response.headers["x-content-type-options"].count("nosniff") == 1


def test_an_unknown_service_and_an_unexpected_error_are_private_on_the_fast_path(
    client: TestClient, fast_path_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_private(client.post("/cds-services/nope", json=hook_request()))

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("service.pipeline.evaluate", explode)
    broken = client.post(PV, json=hook_request(prefetch=full_prefetch(MS, LOW_BACK_PAIN)))
    assert broken.status_code == 500
    assert_private(broken)
    assert len(fast_path_calls) == 2


def test_feedback_answers_are_private(client: TestClient) -> None:
    stored = client.post(FEEDBACK, json={"feedback": [ITEM]})
    assert stored.status_code == 200
    assert_private(stored)
    refused = client.post(FEEDBACK, json={"feedback": []})
    assert refused.status_code == 400
    assert_private(refused)


def test_every_answer_is_nosniff(client: TestClient) -> None:
    for response in (
        client.get("/health"),
        client.get("/cds-services"),
        client.get("/no/such/path"),
        client.get(PV),  # 405
        client.get("/openapi.json"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff", response.url


def test_a_refused_token_is_private_and_nosniff(tmp_path: Path) -> None:
    with TestClient(create_app(jwt_settings(tmp_path))) as client:
        response = client.post(PV, json=hook_request())
    assert response.status_code == 401
    assert_private(response)


# --- no redirect from the Host header ----------------------------------------------------------


def test_discovery_with_a_trailing_slash_is_answered_not_redirected(client: TestClient) -> None:
    response = client.get("/cds-services/", headers={"Host": "evil.test"}, follow_redirects=False)
    assert response.status_code == 200
    assert "location" not in response.headers
    assert response.json() == client.get("/cds-services").json()


def test_no_path_redirects_to_the_host_header(tmp_path: Path) -> None:
    with TestClient(create_app(jwt_settings(tmp_path))) as client:
        for path in ("/cds-services/", "/health/", f"{PV}/", "/docs/"):
            response = client.get(path, headers={"Host": "evil.test"}, follow_redirects=False)
            assert response.status_code in (401, 404, 405), path
            assert "location" not in response.headers, path
        # Discovery with the slash still needs a token.
        assert client.get("/cds-services/").status_code == 401


# --- demo mode answers only localhost ----------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "local"),
    [
        (b"localhost", True),
        (b"localhost:8000", True),
        (b"LocalHost:3000", True),
        (b"127.0.0.1:8000", True),
        (b"[::1]:8000", True),
        (b"[::1]", True),
        (b"evil.test", False),
        (b"evil.test:8000", False),
        (b"localhost.evil.test", False),
        (b"127.0.0.1.nip.io:8000", False),
        (b"[::2]:8000", False),
        (b"::1", False),
        (b"", False),
        (None, False),
    ],
)
def test_local_host_names(host: bytes | None, local: bool) -> None:
    assert local_host(host) is local


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path, demo=True)), base_url=LOCAL) as client:
        yield client


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1:8000", "[::1]:8000", "localhost"])
def test_demo_mode_answers_loopback_names(demo: TestClient, host: str) -> None:
    response = demo.get("/fhir/metadata", headers={"Host": host})
    assert response.status_code == 200


def test_demo_mode_refuses_other_hosts_everywhere(demo: TestClient) -> None:
    evil = {"Host": "rebound.evil.test:8000"}
    preflight = {
        **evil,
        "Origin": "http://rebound.evil.test:8000",
        "Access-Control-Request-Method": "POST",
    }
    for response in (
        demo.get("/fhir/metadata", headers=evil),
        demo.get("/cds-services", headers=evil),
        demo.post(PV, json=hook_request(), headers=evil),  # no Origin: the hook fast path shape
        demo.post(FEEDBACK, json={"feedback": [ITEM]}, headers=evil),
        demo.options(PV, headers=preflight),
        demo.get("/docs", headers=evil),
    ):
        assert response.status_code == 421, response.url
        outcome = response.json()
        assert "localhost" in outcome["issue"][0]["diagnostics"]
        assert_private(response)
    # The same calls addressed to localhost reach the service (the hook then wants its JWT).
    assert demo.post(PV, json=hook_request()).status_code == 401


# --- the body deadline, in the app --------------------------------------------------------------


class StalledBody:
    """An ASGI `receive` that delivers the first part of a body and then nothing, as a client
    whose Content-Length promised more than it sends."""

    def __init__(self, first: bytes) -> None:
        self.first = first
        self.calls = 0

    async def __call__(self) -> dict:
        self.calls += 1
        if self.calls == 1:
            return {"type": "http.request", "body": self.first, "more_body": True}
        await asyncio.Event().wait()  # never set
        raise AssertionError("unreachable")


async def call_stalled(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> list[dict]:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost:8000"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    await asyncio.wait_for(app(scope, StalledBody(b'{"hook": "pat'), send), 30)
    return sent


@pytest.mark.parametrize(
    ("path", "headers", "fast"),
    [
        (PV, [(b"content-length", b"5000")], True),  # the fast path
        (PV, [(b"content-length", b"5000"), (b"origin", b"https://x.example.org")], False),
        (PV, [(b"transfer-encoding", b"chunked")], False),
        (FEEDBACK, [(b"content-length", b"5000")], False),
    ],
)
async def test_a_body_that_stops_coming_is_answered_408_and_closed(
    settings: Settings,
    fast_path_calls: list[str],
    path: str,
    headers: list[tuple[bytes, bytes]],
    fast: bool,
) -> None:
    app = create_app(settings.model_copy(update={"body_read_timeout_s": 0.2}))
    async with app.router.lifespan_context(app):
        sent = await call_stalled(app, path, [(b"content-type", b"application/json"), *headers])
    assert bool(fast_path_calls) is fast
    start, body = sent[0], sent[1]
    assert start["status"] == 408
    response_headers = dict(start["headers"])
    assert response_headers[b"connection"] == b"close"
    assert response_headers[b"cache-control"] == b"no-store"
    outcome = orjson.loads(body["body"])
    assert outcome["issue"][0]["code"] == "timeout"
    assert "0.2 s" in outcome["issue"][0]["diagnostics"]


class TrickledBody:
    """A `receive` that delivers a byte every 50 ms, for ever: each wait is short, the body
    never ends."""

    async def __call__(self) -> dict:
        await asyncio.sleep(0.05)
        return {"type": "http.request", "body": b" ", "more_body": True}


async def test_a_body_that_trickles_past_the_deadline_is_408() -> None:
    receive = deadline_receive(TrickledBody(), 0.3)
    chunks = 0
    with pytest.raises(BodyReadTimeout):
        while True:
            await receive()
            chunks += 1
    assert chunks >= 2


async def test_a_wait_cancelled_for_another_reason_stays_cancelled() -> None:
    receive = deadline_receive(StalledBody(b"{"), 30)
    await receive()
    task = asyncio.ensure_future(receive())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_after_the_body_waiting_for_the_disconnect_is_not_bounded() -> None:
    messages = [
        {"type": "http.request", "body": b"{}", "more_body": False},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict:
        if len(messages) == 1:
            await asyncio.sleep(0.3)  # the client goes away after the deadline
        return messages.pop(0)

    bounded = deadline_receive(receive, 0.1)
    assert (await bounded())["body"] == b"{}"
    assert (await bounded())["type"] == "http.disconnect"


# --- against a real `serve` ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        "MSCDS_BODY_READ_TIMEOUT_S": "1",
        "MSCDS_HEADER_READ_TIMEOUT_S": "1",
        "MSCDS_SHUTDOWN_DELAY_S": "0",
    }
    with ServerProcess(tmp_path_factory.mktemp("slow-clients"), env=env) as running:
        yield running


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a generous bound, never
    reached when the server keeps its deadline)."""
    sock.settimeout(20)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


@pytest.mark.parametrize("path", [PV, FEEDBACK])
def test_serve_answers_a_lying_content_length_with_408_and_closes(
    server: ServerProcess, path: str
) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: 100000\r\n\r\n".encode()
            + b'{"hook": "pati'
        )
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"not received within 1 s" in answer


@pytest.mark.parametrize("sent", [b"", b"POST /cds-services/x HTTP/1.1\r\nHost: 127.0"])
def test_serve_closes_a_connection_whose_headers_do_not_come(
    server: ServerProcess, sent: bytes
) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(sent)
        assert read_until_closed(sock) == b""  # closed without an answer
    # and the server goes on answering
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert read_until_closed(sock).startswith(b"HTTP/1.1 200 ")


def test_the_header_deadline_is_the_apps_setting_under_uvicorns_wrappers(
    settings: Settings,
) -> None:
    app = create_app(settings.model_copy(update={"header_read_timeout_s": 3.5}))
    config = uvicorn.Config(app, http=HTTP_PROTOCOL, proxy_headers=True, log_config=None)
    config.load()
    assert config.loaded_app is not app  # wrapped (proxy headers)
    assert header_read_timeout(config) == 3.5
    assert config.http_protocol_class.__name__ == "HeaderDeadline"


def test_serve_runs_uvicorn_with_the_slow_client_deadlines(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from service.cli import main as cli
    from service.http import shutdown

    ran: dict[str, Any] = {}
    monkeypatch.setattr(shutdown, "run", lambda app, **kwargs: ran.update(kwargs, app=app))
    monkeypatch.setenv("MSCDS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MSCDS_AUTH", "off")
    monkeypatch.setenv("MSCDS_HEADER_READ_TIMEOUT_S", "4")
    assert cli.main(["serve", "--port", "8765"]) == 0
    assert ran["http"] == "service.http.slow_clients:HeaderDeadline"
    assert ran["timeout_keep_alive"] == 5
    assert ran["app"].state.settings.header_read_timeout_s == 4
