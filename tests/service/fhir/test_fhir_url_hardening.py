"""The access token goes to the allowed FHIR base and nowhere else, however the URL is spelled.

A red team found that `..;` (which Tomcat and Jetty, hence HAPI FHIR, read as `..`), a backslash
or a dot, slash or backslash percent-encoded once or twice passed the allowlist under the allowed
base, as `fhirServer` and as a Bundle's `next` link. Each such URL is refused here, against a
real local server that records every request it gets (its raw path and Authorization header):
a refused `fhirServer` gets 412 and no request at all, a refused `next` link ends the walk before
any request for it, and a `fhirServer` with a control character is a 400 naming the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from service.config import ConfigError, Settings, load_settings
from service.discovery import PAGE_SIZE
from service.fhir.client import FhirClient, FhirError
from service.fhir.urls import same_server, unsafe_reason
from service.http.app import create_app
from tests.fixtures.reliability.threaded import ThreadedServer
from tests.service.builders import LOW_BACK_PAIN, MS, bundle, full_prefetch, hook_request, patient

PV = "/cds-services/ms-back-pain-patient-view"
TOKEN = "url-hardening-token"
AUTHORIZATION = {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300}

# Appended to the allowed base (http://127.0.0.1:PORT/fhir); each could reach a path outside it.
ESCAPES = [
    "/..;/admin",
    "/..;/..;/admin",
    "/Patient;jsessionid=1/../../admin",
    "/../admin",
    "/./Patient",
    "/%2e%2e/admin",
    "/%2E%2E/admin",
    "/.%2e/admin",
    "/%252e%252e/admin",
    "/%252E%252E/admin",
    "/%25252e%25252e/admin",
    "/%%32%65%%32%65/admin",
    "/%5c..%5cadmin",
    "/%5C..%5Cadmin",
    "/..%5cadmin",
    "/%255c..%255cadmin",
    "/%255C..%255Cadmin",
    "/..%2fadmin",
    "/..%2Fadmin",
    "/..%252fadmin",
    "/..%252Fadmin",
    "/..%3b/admin",
    "\\..\\admin",
    "/\uff0e\uff0e/admin",  # fullwidth full stops, which some servers fold to '..'
    "/%ef%bc%8e%ef%bc%8e/admin",
]
FIRST_PAGE = f"/fhir/Condition?patient=pat-1&_count={PAGE_SIZE}"  # the template, filled
CONTROLS = ["\t", "\r", "\n", "\x00", "\x01", "\x1b", "\x1f", "\x7f", "\r\nX-Injected: 1"]


class RecordingFhir:
    """A FHIR server that records (raw path and query, Authorization) for every request.

    Under /fhir it answers healthy data; a Condition search's first page links to `next_url`
    when set. Anywhere else it answers 200 too, so a request that escaped would succeed.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []
        self.next_url: str | None = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        query = scope["query_string"].decode("latin-1")
        target = scope["raw_path"].decode("latin-1") + (f"?{query}" if query else "")
        auth = dict(scope["headers"]).get(b"authorization")
        self.calls.append((target, auth.decode("latin-1") if auth is not None else None))
        path = scope["path"]
        if path == "/fhir/Patient/pat-1":
            body: dict[str, Any] = patient()
        elif path == "/fhir/Condition" and "page=" not in query and self.next_url:
            body = bundle(MS, link=[{"relation": "next", "url": self.next_url}])
        elif path == "/fhir/Condition":
            body = bundle(MS, LOW_BACK_PAIN)
        elif "page=" in query or "_getpages=" in query:
            body = bundle(LOW_BACK_PAIN)
        else:
            body = bundle()
        data = orjson.dumps(body)
        headers = [(b"content-type", b"application/fhir+json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": data})


@pytest.fixture(scope="module")
def fhir() -> Iterator[tuple[RecordingFhir, str]]:
    recorder = RecordingFhir()
    server = ThreadedServer(recorder).start()
    yield recorder, f"{server.url}/fhir"
    server.stop()


@pytest.fixture(scope="module")
def api(
    fhir: tuple[RecordingFhir, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("url-hardening"),
        auth="off",
        fhir_servers=(fhir[1],),
        fhir_timeout_s=2.0,
        log_level="WARNING",
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def recorder(fhir: tuple[RecordingFhir, str]) -> Iterator[RecordingFhir]:
    fhir[0].calls.clear()
    fhir[0].next_url = None
    yield fhir[0]
    fhir[0].next_url = None


def _call(api: TestClient, fhir_server: str, prefetch: dict[str, Any]) -> httpx.Response:
    body = hook_request(prefetch=prefetch, fhirServer=fhir_server, fhirAuthorization=AUTHORIZATION)
    return api.post(PV, content=orjson.dumps(body), headers={"Content-Type": "application/json"})


def _without(key: str) -> dict[str, Any]:
    prefetch = full_prefetch(MS, LOW_BACK_PAIN)
    del prefetch[key]
    return prefetch


def _diagnostics(response: httpx.Response) -> str:
    return response.json()["issue"][0]["diagnostics"]


def _assert_all_under_base(recorder: RecordingFhir) -> None:
    for target, _ in recorder.calls:
        assert target.startswith("/fhir/") or target.startswith("/fhir?"), target
        assert unsafe_reason("http://h" + target) is None, target


# --- the rule itself ----------------------------------------------------------------------------


@pytest.mark.parametrize("escape", ESCAPES)
def test_every_escape_is_refused_by_the_rule(escape: str) -> None:
    base = "http://127.0.0.1:8133/fhir"
    assert unsafe_reason(base + escape) is not None
    assert not same_server(base + escape, base)
    assert not same_server(base + escape + "/Condition?patient=1", base)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8133/fhir",
        "http://127.0.0.1:8133/fhir/",
        "http://127.0.0.1:8133/fhir/r4/Patient/pat-1",
        "http://127.0.0.1:8133/fhir/Patient/pat.1/_history/2",
        "http://127.0.0.1:8133/fhir/Condition?patient=pat-1&page=2&_count=50",
        "http://127.0.0.1:8133/fhir?_getpages=abc&_getpagesoffset=20&_bundletype=searchset",
        "http://127.0.0.1:8133/fhir/Observation?code=http://loinc.org|1-8&x=../y;z%2e",
        "HTTP://127.0.0.1:8133/fhir/Patient/a%20b",
    ],
)
def test_legitimate_urls_under_the_base_pass(url: str) -> None:
    assert unsafe_reason(url) is None
    assert same_server(url, "http://127.0.0.1:8133/fhir")
    assert same_server(url, "http://127.0.0.1:8133/fhir/")


def test_an_unsafe_configured_base_stops_start_up() -> None:
    with pytest.raises(ConfigError, match=r"MSCDS_FHIR_SERVERS.*path parameter"):
        load_settings(fhir_servers=("http://127.0.0.1:8133/fhir/..;/admin",))


# --- as fhirServer ------------------------------------------------------------------------------


@pytest.mark.parametrize("escape", ESCAPES)
def test_escaping_fhir_server_gets_412_and_no_request(
    api: TestClient, fhir: tuple[RecordingFhir, str], recorder: RecordingFhir, escape: str
) -> None:
    response = _call(api, fhir[1] + escape, _without("conditions"))
    assert response.status_code == 412
    assert "conditions: not in prefetch and fhirServer is not an allowed server (it " in (
        _diagnostics(response)
    )
    assert recorder.calls == []


@pytest.mark.parametrize("control", CONTROLS)
@pytest.mark.parametrize("where", ["end", "path"])
def test_control_character_in_fhir_server_is_a_400_naming_it(
    api: TestClient,
    fhir: tuple[RecordingFhir, str],
    recorder: RecordingFhir,
    control: str,
    where: str,
) -> None:
    server = fhir[1] + control if where == "end" else f"{fhir[1]}/r4{control}x"
    response = _call(api, server, _without("conditions"))
    assert response.status_code == 400
    assert _diagnostics(response).startswith("fhirServer: ")
    assert recorder.calls == []


def test_control_character_in_fhir_server_is_a_400_even_with_a_full_prefetch(
    api: TestClient, fhir: tuple[RecordingFhir, str], recorder: RecordingFhir
) -> None:
    response = _call(api, fhir[1] + "\n", full_prefetch(MS, LOW_BACK_PAIN))
    assert response.status_code == 400
    assert "fhirServer" in _diagnostics(response)


# --- as a next link -----------------------------------------------------------------------------


@pytest.mark.parametrize("escape", ESCAPES + CONTROLS)
def test_escaping_next_link_in_the_prefetch_is_never_requested(
    api: TestClient, fhir: tuple[RecordingFhir, str], recorder: RecordingFhir, escape: str
) -> None:
    prefetch = full_prefetch()
    next_url = f"{fhir[1]}{escape}/Condition?patient=pat-1&page=2"
    prefetch["conditions"] = bundle(MS, link=[{"relation": "next", "url": next_url}])
    response = _call(api, fhir[1], prefetch)
    assert response.status_code == 412
    assert _diagnostics(response).startswith("required data unavailable (conditions: a next link")
    assert recorder.calls == []


@pytest.mark.parametrize("escape", ESCAPES + CONTROLS)
def test_escaping_next_link_from_the_server_is_never_requested(
    api: TestClient, fhir: tuple[RecordingFhir, str], recorder: RecordingFhir, escape: str
) -> None:
    recorder.next_url = f"{fhir[1]}{escape}?page=2"
    response = _call(api, fhir[1], _without("conditions"))
    assert response.status_code == 412
    assert "conditions: a next link" in _diagnostics(response)
    # the first page was asked for, with the token, under the base; the next link never
    assert recorder.calls == [(FIRST_PAGE, f"Bearer {TOKEN}")]


# --- what still works ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/"])
def test_allowed_base_with_port_and_trailing_slash_is_fetched_with_the_token(
    api: TestClient, fhir: tuple[RecordingFhir, str], recorder: RecordingFhir, suffix: str
) -> None:
    response = _call(api, fhir[1] + suffix, _without("patient"))
    assert response.status_code == 200, response.text
    assert response.json()["cards"]
    assert recorder.calls == [("/fhir/Patient/pat-1", f"Bearer {TOKEN}")]


@pytest.mark.parametrize(
    "next_path",
    [
        "/Condition?patient=pat-1&page=2&_count=50",
        "?_getpages=abc&_getpagesoffset=20&_bundletype=searchset",
    ],
)
def test_next_links_with_query_strings_are_followed(
    api: TestClient, fhir: tuple[RecordingFhir, str], recorder: RecordingFhir, next_path: str
) -> None:
    recorder.next_url = fhir[1] + next_path
    response = _call(api, fhir[1], _without("conditions"))
    assert response.status_code == 200, response.text
    assert recorder.calls == [
        (FIRST_PAGE, f"Bearer {TOKEN}"),
        ("/fhir" + next_path, f"Bearer {TOKEN}"),
    ]
    _assert_all_under_base(recorder)


def test_a_next_link_with_a_query_string_in_the_prefetch_is_followed(
    api: TestClient, fhir: tuple[RecordingFhir, str], recorder: RecordingFhir
) -> None:
    prefetch = full_prefetch()
    next_url = f"{fhir[1]}/Condition?patient=pat-1&page=2"
    prefetch["conditions"] = bundle(MS, link=[{"relation": "next", "url": next_url}])
    response = _call(api, fhir[1], prefetch)
    assert response.status_code == 200, response.text
    assert recorder.calls == [("/fhir/Condition?patient=pat-1&page=2", f"Bearer {TOKEN}")]


# --- a URL httpx cannot send is a FhirError, never a 500 -------------------------------------


async def test_a_url_httpx_refuses_is_a_fhir_error() -> None:
    # Every URL is checked before it reaches the client; this is the client's own guard.
    async with httpx.AsyncClient() as http:
        client = FhirClient(http, timeout_s=1.0, max_pages=2, max_bytes=10_000)
        with pytest.raises(FhirError, match="could not be encoded"):
            await client._get("http://127.0.0.1:1/fhir/Patient\t1", TOKEN)
        with pytest.raises(FhirError, match="a prefetch query contains a control character"):
            await client.fetch("http://127.0.0.1:1/fhir", "Patient/1\x00", TOKEN)
        with pytest.raises(FhirError, match="a next link contains a control character"):
            await client.follow("http://127.0.0.1:1/fhir", "http://127.0.0.1:1/fhir\r\n", None, [])
