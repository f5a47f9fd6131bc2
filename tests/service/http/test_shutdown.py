"""SIGTERM: readiness turns false first, in-flight requests finish with 200, then the process exits.

The end-to-end test runs a real server process (`ms-backpain-cds serve`, i.e.
`serve` with service.http.shutdown wired in) whose hook call is made slow by a FHIR server that
takes 2 s to answer, and sends SIGTERM while that call is in flight.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI

from service.http.shutdown import GracefulServer, chain_signal_handlers, run
from tests.fixtures.reliability.fault_fhir import FaultServer
from tests.fixtures.reliability.server import ServerProcess

PV = "/cds-services/ms-back-pain-patient-view"
SLOW_S = 2.0


def _server(delay: float) -> tuple[GracefulServer, FastAPI]:
    app = FastAPI()
    app.state.ready = True
    return GracefulServer(uvicorn.Config(app), drain_delay_s=delay), app


def test_the_signal_flips_readiness_then_waits_out_the_drain_delay() -> None:
    server, app = _server(delay=0.3)
    server.handle_exit(signal.SIGTERM, None)
    assert app.state.ready is False
    assert server.should_exit is False  # still serving: probes see 503, traffic moves away
    assert asyncio.run(server.on_tick(1)) is False
    time.sleep(0.35)
    assert asyncio.run(server.on_tick(1)) is True  # then uvicorn's own drain begins


def test_a_second_signal_or_no_delay_stops_at_once() -> None:
    server, app = _server(delay=30)
    server.handle_exit(signal.SIGTERM, None)
    server.handle_exit(signal.SIGTERM, None)
    assert server.should_exit is True
    immediate, app = _server(delay=0)
    immediate.handle_exit(signal.SIGTERM, None)
    assert app.state.ready is False and immediate.should_exit is True
    interactive, app = _server(delay=30)
    interactive.handle_exit(signal.SIGINT, None)  # Ctrl-C: nobody to drain traffic for
    assert app.state.ready is False and interactive.should_exit is True


def test_worker_processes_chain_the_same_behaviour_onto_uvicorns_handlers() -> None:
    """With --workers N uvicorn builds each worker's server; the worker's app chains instead."""
    called: list[int] = []
    original = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for signum in original:  # stand-ins for the handlers uvicorn installs in a worker
            signal.signal(signum, lambda n, _f: called.append(n))
        app = FastAPI()
        app.state.ready = True
        chain_signal_handlers(app, 0.2)
        signal.raise_signal(signal.SIGTERM)
        assert app.state.ready is False
        assert called == []  # uvicorn's handler waits out the drain delay
        time.sleep(0.5)
        assert called == [signal.SIGTERM]
        signal.raise_signal(signal.SIGINT)  # a second signal: at once
        assert called == [signal.SIGTERM, signal.SIGINT]
    finally:
        for signum, handler in original.items():
            signal.signal(signum, handler)


def test_several_workers_need_a_factory_import_string() -> None:
    with pytest.raises(ValueError, match="import string"):
        run(FastAPI(), workers=2)
    with pytest.raises(ValueError, match="factory"):
        run("service.http.app:create_app", workers=2)


@pytest.fixture
def fhir() -> Iterator[FaultServer]:
    server = FaultServer().start()
    yield server
    server.stop()


def _slow_call(url: str, fhir_base: str, out: dict[str, Any]) -> None:
    body = {
        "hook": "patient-view",
        "hookInstance": "shutdown-test",
        "fhirServer": fhir_base,
        "context": {"userId": "Practitioner/doc-1", "patientId": "pat-1"},
    }
    started = time.monotonic()
    try:
        response = httpx.post(f"{url}{PV}", content=orjson.dumps(body), timeout=30)
        out["status"] = response.status_code
        out["body"] = response.json()
    except httpx.HTTPError as exc:
        out["error"] = repr(exc)
    out["seconds"] = time.monotonic() - started


def _ready_status(url: str) -> int | str:
    try:
        return httpx.get(f"{url}/health/ready", timeout=2).status_code
    except httpx.HTTPError as exc:
        return type(exc).__name__


def test_sigterm_drains_in_flight_requests_after_readiness_turns_false(
    tmp_path: Path, fhir: FaultServer
) -> None:
    service = ServerProcess(
        tmp_path,
        env={
            "MSCDS_FHIR_SERVERS": orjson.dumps([fhir.root]).decode(),
            "MSCDS_FHIR_TIMEOUT_S": "10",
            "MSCDS_SHUTDOWN_DELAY_S": "1.0",
        },
    ).start()  # the real `ms-backpain-cds serve`
    try:
        assert _ready_status(service.url) == 200
        result: dict[str, Any] = {}
        call = threading.Thread(
            target=_slow_call, args=(service.url, fhir.base(f"delay-{SLOW_S}"), result)
        )
        call.start()
        deadline = time.monotonic() + 10
        while not any(f.startswith("delay-") for f, _, _ in fhir.calls):  # the call is in flight
            assert time.monotonic() < deadline, "the hook call never reached the FHIR server"
            time.sleep(0.02)

        service.signal(signal.SIGTERM)
        time.sleep(0.2)
        during = _ready_status(service.url)  # inside the drain delay: still listening, not ready
        call.join(timeout=30)
        exit_code = service.wait(timeout_s=15)
    finally:
        service.kill()

    assert during == 503, service.log()
    assert result.get("status") == 200, (result, service.log())
    assert result["body"]["cards"], "the drained request still answers its cards"
    assert result["seconds"] >= SLOW_S - 0.1
    assert exit_code is not None  # the process ended by itself after the drain
    assert _ready_status(service.url) == "ConnectError"
