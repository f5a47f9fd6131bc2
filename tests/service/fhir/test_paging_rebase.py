"""Paging behind a gateway: search templates ask for large pages, and a `next` link the FHIR
server writes on its own base is re-based onto `fhirServer` when the server showed that base.

The FHIR server here is real (uvicorn on a loopback port, reached as the EHR's `fhirServer`), but
believes it lives at `http://fhir-internal.invalid:8080/fhir`, as a server behind a gateway does:
its `self` and `next` links name that base. It serves at most 20 results a page, whatever
`_count` asks, so a chart of 45 Conditions takes three pages. It records every request it gets,
with its Authorization header. `.invalid` never resolves: a request sent there would fail the
call, so a 200 also shows that nothing was.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.config import Settings
from service.discovery import PAGE_SIZE, PREFETCH
from service.fhir.client import own_base
from service.fhir.urls import rebased
from service.http.app import create_app
from service.logs import LOGGER_NAME, JsonFormatter
from tests.fixtures.reliability.threaded import ThreadedServer
from tests.service.builders import (
    LOW_BACK_PAIN,
    MS,
    PATIENT_ID,
    SNOMED,
    bundle,
    condition,
    full_prefetch,
    hook_request,
    patient,
)

PV = "/cds-services/ms-back-pain-patient-view"
TOKEN = "gateway-paging-token"
AUTHORIZATION = {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300}
INTERNAL = "http://fhir-internal.invalid:8080/fhir"
SERVER_MAX_PAGE = 20
# MS first, back pain last: cards about back pain only if every page was read.
FILLER = [condition(f"c-{i}", SNOMED, "38341003", "Hypertension") for i in range(43)]
CHART = [MS, *FILLER, LOW_BACK_PAIN]


@dataclass
class GatewayFhir:
    """How the server writes its links; what it was asked."""

    style: str = "hapi"  # "hapi": next is INTERNAL?_getpages=..; "type": INTERNAL/Condition?..
    self_link: bool = True
    next_base: str = INTERNAL  # where `next` links point
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)

    def page(self, offset: int, count: int, asked: str) -> dict[str, Any]:
        found = CHART[offset : offset + count]
        links = [{"relation": "self", "url": f"{INTERNAL}/{asked}"}] if self.self_link else []
        after = offset + count
        if after < len(CHART):
            if self.style == "hapi":
                url = f"{self.next_base}?_getpages=s1&_getpagesoffset={after}&_count={count}"
            else:
                url = f"{self.next_base}/Condition?patient={PATIENT_ID}&_offset={after}"
            links.append({"relation": "next", "url": url})
        return bundle(*found, link=links)

    async def handle(self, request: Request) -> JSONResponse:
        path = request.path_params.get("path", "")
        query = request.url.query
        self.calls.append((path, query, request.headers.get("authorization")))
        params = request.query_params
        count = min(int(params.get("_count", SERVER_MAX_PAGE)), SERVER_MAX_PAGE)
        if path == f"Patient/{PATIENT_ID}":
            return JSONResponse(patient())
        if path == "" and "_getpages" in params:  # HAPI pages at the base itself
            offset = int(params["_getpagesoffset"])
            return JSONResponse(self.page(offset, count, f"?{query}"))
        if path == "Condition":
            offset = int(params.get("_offset", 0))
            return JSONResponse(self.page(offset, count, f"Condition?{query}"))
        return JSONResponse(bundle())


@pytest.fixture(scope="module")
def gateway() -> Iterator[tuple[GatewayFhir, str]]:
    fhir = GatewayFhir()
    app = Starlette(routes=[Route("/fhir", fhir.handle), Route("/fhir/{path:path}", fhir.handle)])
    server = ThreadedServer(app).start()
    yield fhir, f"{server.url}/fhir"
    server.stop()


@pytest.fixture
def fhir(gateway: tuple[GatewayFhir, str]) -> Iterator[GatewayFhir]:
    server = gateway[0]
    yield server
    server.__init__()  # type: ignore[misc]  # the next test starts from the defaults


@pytest.fixture(scope="module")
def api(
    gateway: tuple[GatewayFhir, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("paging"),
        auth="off",
        fhir_servers=(gateway[1],),
        fhir_timeout_s=3.0,
        log_level="INFO",
    )
    with TestClient(create_app(settings)) as client:
        yield client


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        import json

        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def log_lines() -> Iterator[list[dict[str, Any]]]:
    handler = Lines()
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def _call(api: TestClient, base: str, prefetch: dict[str, Any]) -> Any:
    body = hook_request(prefetch=prefetch, fhirServer=base, fhirAuthorization=AUTHORIZATION)
    return api.post(PV, json=body)


def _without_conditions() -> dict[str, Any]:
    prefetch = full_prefetch()
    del prefetch["conditions"]
    return prefetch


def _kinds(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(c["source"]["topic"]["code"] for c in response.json()["cards"])


# --- the templates ask for large pages ---------------------------------------------------------


def test_every_search_template_asks_for_a_page_size() -> None:
    searches = {key: t for key, t in PREFETCH.items() if "?" in t}
    assert set(searches) == {k for k in PREFETCH if k != "patient"}
    for key, template in searches.items():
        assert "&_count=" in template, key
    assert f"_count={PAGE_SIZE}" in PREFETCH["conditions"]
    assert f"_count={PAGE_SIZE}" in PREFETCH["medicationRequests"]


def test_the_condition_search_asks_for_the_page_size(
    api: TestClient, gateway: tuple[GatewayFhir, str], fhir: GatewayFhir
) -> None:
    _call(api, gateway[1], _without_conditions())
    first = next(query for path, query, _ in fhir.calls if path == "Condition")
    assert f"_count={PAGE_SIZE}" in first.split("&")


# --- next links on the server's own base --------------------------------------------------------


@pytest.mark.parametrize("style", ["hapi", "type"])
def test_next_links_on_the_servers_own_base_are_followed_on_fhir_server(
    api: TestClient, gateway: tuple[GatewayFhir, str], fhir: GatewayFhir, style: str
) -> None:
    fhir.style = style
    response = _call(api, gateway[1], _without_conditions())
    assert "first-line" in _kinds(response)  # back pain, on the last page, was read
    pages = [c for c in fhir.calls if c[0] == "Condition" or "_getpages" in c[1]]
    assert len(pages) == 3  # 45 Conditions, 20 a page
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in fhir.calls)
    if style == "hapi":
        assert [p[0] for p in pages[1:]] == ["", ""]  # asked at fhirServer itself
        assert "_getpagesoffset=20" in pages[1][1] and "_getpagesoffset=40" in pages[2][1]


def test_a_prefetch_page_from_the_ehr_is_continued_on_fhir_server(
    api: TestClient, gateway: tuple[GatewayFhir, str], fhir: GatewayFhir
) -> None:
    prefetch = full_prefetch()
    prefetch["conditions"] = fhir.page(0, SERVER_MAX_PAGE, f"Condition?patient={PATIENT_ID}")
    response = _call(api, gateway[1], prefetch)
    assert "first-line" in _kinds(response)
    assert [(p, "_getpagesoffset=" in q) for p, q, _ in fhir.calls] == [("", True), ("", True)]
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in fhir.calls)


def test_without_a_self_link_the_servers_base_is_unknown_and_the_call_is_412(
    api: TestClient, gateway: tuple[GatewayFhir, str], fhir: GatewayFhir, log_lines: list[dict]
) -> None:
    fhir.self_link = False
    response = _call(api, gateway[1], _without_conditions())
    assert response.status_code == 412
    assert "conditions: a next link points away from the FHIR server" in response.text
    assert len(fhir.calls) == 1  # the first page; none for its next link
    (line,) = [entry for entry in log_lines if entry["event"] == "hook"]
    assert line["level"] == "warning" and line["status"] == 412
    assert "conditions: a next link points away from the FHIR server" in line["problem"]


@pytest.mark.parametrize(
    "elsewhere",
    [
        "http://fhir-internal.invalid:8081/fhir",  # another port than the server showed
        "https://fhir-internal.invalid:8080/fhir",  # another scheme
        "http://other.invalid:8080/fhir",  # another host
        "http://fhir-internal.invalid:8080/fhir-admin",  # beside the base, not below it
        "http://fhir-internal.invalid:8080/fhir/..;",  # below it only as Jetty reads it
        "http://fhir-internal.invalid:8080/fhir/%2e%2e/admin",
    ],
)
def test_a_next_link_not_below_the_servers_own_base_is_refused(
    api: TestClient, gateway: tuple[GatewayFhir, str], fhir: GatewayFhir, elsewhere: str
) -> None:
    fhir.next_base = elsewhere
    response = _call(api, gateway[1], _without_conditions())
    assert response.status_code == 412, response.text
    assert "conditions: a next link" in response.text
    assert not any("_getpages" in query for _, query, _ in fhir.calls)


# --- the rules themselves ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "own", "moved"),
    [
        (
            "http://internal:8080/fhir/Condition?_getpages=x",
            "http://internal:8080/fhir",
            "https://gw.example/fhir/Condition?_getpages=x",
        ),
        (
            "http://internal:8080/fhir?_getpages=x&_getpagesoffset=200",
            "http://internal:8080/fhir/",
            "https://gw.example/fhir?_getpages=x&_getpagesoffset=200",
        ),
        ("http://internal:8081/fhir/Condition", "http://internal:8080/fhir", None),
        ("http://internal:8080/fhir2/Condition", "http://internal:8080/fhir", None),
        ("http://internal:8080/fhir/../Condition", "http://internal:8080/fhir", None),
        ("http://user@internal:8080/fhir/Condition", "http://internal:8080/fhir", None),
    ],
)
def test_rebased(link: str, own: str, moved: str | None) -> None:
    assert rebased(link, own, "https://gw.example/fhir") == moved


def test_a_default_port_is_the_same_server() -> None:
    got = rebased(
        "http://internal/fhir/Condition?code=a%7Cb", "http://internal:80/fhir", "https://gw/fhir"
    )
    assert got == "https://gw/fhir/Condition?code=a%7Cb"


@pytest.mark.parametrize(
    ("self_url", "asked", "base"),
    [
        (
            "http://internal:8080/fhir/Condition?patient=1",
            "https://gw/fhir/Condition?patient=1&_count=200",
            "http://internal:8080/fhir",
        ),
        (
            "http://internal:8080/fhir?_getpages=x",
            "https://gw/fhir?_getpages=x",
            "http://internal:8080/fhir",
        ),
        ("http://internal:8080/fhir/Patient?x", "https://gw/fhir/Condition?patient=1", None),
        (None, "https://gw/fhir/Condition", None),
    ],
)
def test_own_base_from_the_self_link(self_url: str | None, asked: str, base: str | None) -> None:
    assert own_base(self_url, asked, "https://gw/fhir") == base
