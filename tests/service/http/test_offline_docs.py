"""/docs and /redoc work on a network without the Internet: every script, stylesheet and icon the
pages reference comes from the service itself, and the pages name no other server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.http.app import create_app

LOCAL = "http://localhost:8000"
# src= and href= of <script>, <link> and <img>; and the spec URL each page's script loads
REFERENCE = re.compile(r"<(?:script|link|img)\b[^>]*?\b(?:src|href)=\"([^\"]*)\"")
SPEC_URL = re.compile(r"(?:url: '|spec-url=\")([^'\"]+)")
JAVASCRIPT = "text/javascript"


@pytest.fixture(params=["demo", "auth-off", "jwt-with-docs-on"])
def docs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    if request.param == "jwt-with-docs-on":
        settings = Settings(
            data_dir=tmp_path,
            auth="jwt",
            public_base_url="https://cds.example.org",
            trust_sandbox=True,
            api_docs=True,
        )
    else:
        settings = Settings(data_dir=tmp_path, auth="off", demo=request.param == "demo")
    with TestClient(create_app(settings), base_url=LOCAL) as client:
        yield client


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_every_asset_of_the_page_comes_from_the_service(docs: TestClient, page: str) -> None:
    response = docs.get(page)
    assert response.status_code == 200
    html = response.text
    assert "http://" not in html and "https://" not in html  # no other server, not even a font
    references = REFERENCE.findall(html) + SPEC_URL.findall(html)
    assert len(references) >= 3  # the script, the favicon, the OpenAPI document (and the CSS)
    for url in references:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = docs.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url
        if url.endswith(".js"):
            # served with nosniff: a browser runs a script only if it says it is JavaScript
            assert asset.headers["content-type"].startswith(JAVASCRIPT), url
            assert asset.headers["x-content-type-options"] == "nosniff"
    scripts = [u for u in references if u.endswith(".js")]
    assert scripts and all(len(docs.get(u).content) > 500_000 for u in scripts)  # the bundles


def test_the_bundles_load_nothing_from_a_cdn(docs: TestClient) -> None:
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        assert b"cdn." not in docs.get(f"/docs-assets/{name}").content, name
    # ReDoc shows its footer logo from beside the page (`{page}/logo-mini.svg`)
    logo = docs.get("/redoc/logo-mini.svg")
    assert logo.status_code == 200 and logo.content.startswith(b"<svg")
    assert logo.headers["content-type"] == "image/svg+xml"


def test_swagger_ui_has_its_stylesheet_and_no_online_validator(docs: TestClient) -> None:
    html = docs.get("/docs").text
    assert any(u.endswith(".css") for u in REFERENCE.findall(html))
    assert '"validatorUrl": null' in html


def test_only_the_known_assets_are_served(docs: TestClient) -> None:
    assert docs.get("/docs-assets/favicon.png").headers["content-type"] == "image/png"
    for name in ("standalone_docs.py", "..%2F__init__.py", "LICENSE", "swagger-ui-bundle.js.map"):
        assert docs.get(f"/docs-assets/{name}").status_code == 404, name


def test_without_the_pages_there_are_no_assets(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        auth="jwt",
        public_base_url="https://cds.example.org",
        trust_sandbox=True,
        api_docs=False,
    )
    with TestClient(create_app(settings), base_url=LOCAL) as client:
        for path in ("/docs", "/redoc", "/docs-assets/swagger-ui-bundle.js"):
            assert client.get(path).status_code == 404, path
