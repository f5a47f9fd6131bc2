"""Plain hook calls skip the middleware stack (service/http/dispatch.py); they must answer exactly
as
the whole stack does, and every call that needs a layer must still get it."""

from __future__ import annotations

import json
import logging

import orjson
import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.http import app as app_module
from service.http.app import create_app
from service.http.dispatch import hook_service_id, plain_hook_call
from service.logs import LOGGER_NAME
from tests.service.builders import LOW_BACK_PAIN, MS, full_prefetch, hook_request
from tests.service.test_logging import Lines

PV = "/cds-services/ms-back-pain-patient-view"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (PV, "ms-back-pain-patient-view"),
        ("/cds-services/x", "x"),
        ("/cds-services/", None),
        ("/cds-services", None),
        ("/cds-services/x/feedback", None),
        ("/cds-services/x/", None),
        ("/other/cds-services/x", None),
    ],
)
def test_only_a_hook_path_is_taken(path: str, expected: str | None) -> None:
    assert hook_service_id(path) == expected


@pytest.mark.parametrize(
    "body",
    [
        hook_request(prefetch=full_prefetch(MS, LOW_BACK_PAIN)),  # cards
        hook_request(prefetch=None),  # 412: nothing to fetch from
        {"hook": "patient-view"},  # 400
    ],
)
@pytest.mark.parametrize("path", [PV, "/cds-services/no-such-service"])
def test_the_direct_way_answers_as_the_router_does(
    client: TestClient, settings: Settings, body: dict, path: str
) -> None:
    direct = client.post(path, json=body)
    # Under an ASGI root_path the call goes through the router.
    with TestClient(create_app(settings), root_path="/api") as routed_client:
        routed = routed_client.post("/api" + path, json=body)
    assert direct.status_code == routed.status_code
    assert direct.status_code in (200, 400, 404, 412)
    assert direct.json() == routed.json()
    assert direct.headers["content-type"] == routed.headers["content-type"]


def test_other_methods_on_a_hook_path_still_get_405(client: TestClient) -> None:
    response = client.get(PV)
    assert response.status_code == 405
    assert response.json()["resourceType"] == "OperationOutcome"


def _scope(headers: list[tuple[bytes, bytes]], **extra: object) -> dict:
    return {"type": "http", "method": "POST", "path": PV, "headers": headers, **extra}


LENGTH = (b"content-length", b"100")


@pytest.mark.parametrize(
    ("scope", "taken"),
    [
        (_scope([LENGTH]), True),
        (_scope([(b"content-length", b"1000")]), True),  # exactly the limit
        (_scope([(b"content-length", b"1001")]), False),  # the body limit answers 413
        (_scope([(b"content-length", b"12a")]), False),  # the body limit answers 400
        (_scope([(b"content-length", b"9" * 5000)]), False),  # int() would refuse it
        (_scope([LENGTH, LENGTH]), False),
        (_scope([]), False),  # no length: streamed, counted by the body limit
        (_scope([LENGTH, (b"transfer-encoding", b"chunked")]), False),
        (_scope([LENGTH, (b"origin", b"https://ehr.example.org")]), False),  # CORS
        (_scope([LENGTH], root_path="/api"), False),
        (_scope([LENGTH], method="GET"), False),
        (_scope([LENGTH], path="/cds-services/x/feedback"), False),
        ({"type": "websocket", "path": PV, "headers": [LENGTH]}, False),
    ],
)
def test_only_a_call_that_needs_no_layer_is_taken_directly(scope: dict, taken: bool) -> None:
    assert (plain_hook_call(scope, max_body_bytes=1000) is not None) is taken


def test_a_streamed_hook_call_is_answered_through_the_stack(client: TestClient) -> None:
    body = orjson.dumps(hook_request(prefetch=full_prefetch(MS, LOW_BACK_PAIN)))
    streamed = client.post(
        PV,
        content=iter([body[:1000], body[1000:]]),  # chunked: no Content-Length
        headers={"content-type": "application/json"},
    )
    direct = client.post(PV, content=body, headers={"content-type": "application/json"})
    assert streamed.status_code == direct.status_code == 200
    assert streamed.json() == direct.json()
    assert [c["source"]["topic"]["code"] for c in direct.json()["cards"]] == ["first-line"]


def test_an_error_escaping_the_handler_is_contained(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    secret = "Brennan MRN-12345"

    async def explode(request: object) -> None:
        raise ValueError(secret)

    monkeypatch.setattr(app_module, "require_client", explode)
    handler = Lines()
    logging.getLogger(LOGGER_NAME).addHandler(handler)
    try:
        response = client.post(PV, json=hook_request(prefetch=full_prefetch(MS)))
    finally:
        logging.getLogger(LOGGER_NAME).removeHandler(handler)
    assert response.status_code == 500
    assert response.json()["resourceType"] == "OperationOutcome"
    assert secret not in response.text
    [line] = [x for x in handler.lines if x["event"] == "unhandled_error"]
    assert line["error"] == "ValueError"
    assert line["path"] == PV
    assert secret not in json.dumps(handler.lines)
    assert secret not in capfd.readouterr().err
