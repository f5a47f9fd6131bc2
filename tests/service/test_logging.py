"""One structured line per hook call: who asked, what came back, how long it took."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from service.logs import LOGGER_NAME, JsonFormatter
from tests.service.builders import LOW_BACK_PAIN, MS, full_prefetch, hook_request

PV = "/cds-services/ms-back-pain-patient-view"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def log_lines():
    handler = Lines()
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def test_a_hook_call_logs_one_json_line(client: TestClient, log_lines: list[dict]) -> None:
    body = hook_request(prefetch=full_prefetch(MS, LOW_BACK_PAIN))
    cards = client.post(PV, json=body).json()["cards"]
    (line,) = [entry for entry in log_lines if entry["event"] == "hook"]
    assert line["hookInstance"] == body["hookInstance"]
    assert line["service"] == "ms-back-pain-patient-view"
    assert line["status"] == 200
    assert cards
    assert line["cards"] == [c["source"]["topic"]["code"] for c in cards]  # the card kinds
    assert "first-line" in line["cards"]
    assert isinstance(line["ms"], float)


def test_a_rejected_call_logs_its_status_and_reason(
    client: TestClient, log_lines: list[dict]
) -> None:
    body = hook_request(prefetch=full_prefetch(MS))
    del body["context"]["patientId"]
    client.post(PV, json=body)
    (line,) = [entry for entry in log_lines if entry["event"] == "hook"]
    assert line["status"] == 400
    assert "context.patientId" in line["problem"]


def test_an_unexpected_error_is_500_with_an_outcome_and_logged_with_its_hook_instance(
    client: TestClient, log_lines: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args, **kwargs):
        raise RuntimeError("patient Jane Doe broke it")

    monkeypatch.setattr("service.pipeline.evaluate", explode)
    body = hook_request(prefetch=full_prefetch(MS, LOW_BACK_PAIN))
    response = client.post(PV, json=body)
    assert response.status_code == 500
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "Traceback" not in response.text and "Jane Doe" not in response.text
    (line,) = [entry for entry in log_lines if entry["event"] == "hook"]
    assert line["status"] == 500
    assert line["hookInstance"] == body["hookInstance"]
    assert line["error"] == "RuntimeError"
    assert "Jane Doe" not in json.dumps(log_lines)


@pytest.mark.parametrize("created", [1_795_000_000.0, 1_795_000_000.25, 1_795_000_059.5, 0.125])
def test_log_times_are_iso_8601_utc_to_the_millisecond(created: float) -> None:
    from datetime import UTC, datetime

    from service.logs import _timestamp

    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    assert _timestamp(created) == expected
    assert _timestamp(created) == expected  # the remembered second gives the same text


def test_the_default_handler_writes_the_line_a_record_would_give() -> None:
    import io

    from service.logs import JsonLines, configure, log_event

    configure("INFO")
    logger = logging.getLogger(LOGGER_NAME)
    (handler,) = [h for h in logger.handlers if isinstance(h, JsonLines)]
    direct, formatted = io.StringIO(), io.StringIO()
    previous = handler.setStream(direct)
    log_event("hook", logging.WARNING, status=412, cards=["a"], at=object.__name__)
    log_event("hidden", logging.DEBUG)  # below the level: nothing
    extra = logging.StreamHandler(formatted)  # another handler: records go the ordinary way
    extra.setFormatter(JsonFormatter())
    logger.addHandler(extra)
    try:
        log_event("hook", logging.WARNING, status=412, cards=["a"], at=object.__name__)
    finally:
        logger.removeHandler(extra)
        handler.setStream(previous)
    first, second = direct.getvalue().splitlines()  # the handler wrote both times
    ordinary = formatted.getvalue().splitlines()
    assert [json.loads(x) | {"time": 0} for x in (first, second, *ordinary)] == [
        {
            "time": 0,
            "level": "warning",
            "event": "hook",
            "status": 412,
            "cards": ["a"],
            "at": "object",
        }
    ] * 3
