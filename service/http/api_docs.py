"""The API documentation pages, /docs (Swagger UI) and /redoc, working without the Internet.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, the favicon from fastapi.tiangolo.com
and ReDoc's fonts from Google: on a hospital network without Internet access they stay blank.
The same files ship in the `fastapi-standalone-docs` package, with their licences beside them
(Swagger UI: Apache License 2.0; ReDoc and the libraries it bundles: MIT and others, listed in
`redoc.standalone.js.LICENSE.txt`; FastAPI's favicon: MIT), and its ReDoc asks for its footer
logo beside the page rather than from cdn.redoc.ly. The service serves them from there under
`/docs-assets/` (the logo at `/redoc/logo-mini.svg`), and the pages name no other server.
Swagger UI's online validator badge (validator.swagger.io) is turned off.

Whether the pages exist at all is the app's setting (`Settings.docs_enabled`, MSCDS_API_DOCS):
`install` replaces the pages FastAPI set up, and adds the assets only when there is a page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import fastapi_standalone_docs
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from service.http.errors import HTTPProblem

Page = Callable[[Request], Awaitable[Response]]

ASSETS_PATH = "/docs-assets"
_STATIC = Path(fastapi_standalone_docs.__file__).parent / "static"
# name -> (file, media type). Served with `nosniff` (service.http.middleware): a script must say it
# is JavaScript to be run.
ASSETS = {
    "swagger-ui-bundle.js": (_STATIC / "swagger" / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": (_STATIC / "swagger" / "swagger-ui.css", "text/css"),
    "redoc.standalone.js": (_STATIC / "redoc" / "redoc.standalone.js", "text/javascript"),
    "favicon.png": (_STATIC / "fastapi" / "favicon.png", "image/png"),
    "logo-mini.svg": (_STATIC / "redoc" / "logo-mini.svg", "image/svg+xml"),
}
REDOC_LOGO = "logo-mini.svg"  # ReDoc asks for it at {the page's path}/logo-mini.svg
# The files change only with the package: let a browser keep them for a day.
CACHE_CONTROL = "public, max-age=86400"


def install(app: FastAPI) -> None:
    """Serve /docs and /redoc (those the app has) from the service's own assets; idempotent."""
    pages = {app.docs_url, app.redoc_url} - {None}
    if app.openapi_url is None or not pages:
        return
    asset_route = f"{ASSETS_PATH}/{{name}}"
    logo = f"{app.redoc_url}/{REDOC_LOGO}" if app.redoc_url else None
    ours = {*pages, asset_route, logo}
    app.router.routes[:] = [r for r in app.router.routes if _path(r) not in ours]
    if app.docs_url:
        app.add_route(app.docs_url, _swagger_page(app), include_in_schema=False)
    if app.redoc_url:
        app.add_route(app.redoc_url, _redoc_page(app), include_in_schema=False)
        app.add_route(f"{app.redoc_url}/{REDOC_LOGO}", _redoc_logo, include_in_schema=False)
    app.add_route(asset_route, _asset, include_in_schema=False)


def _path(route: BaseRoute) -> str | None:
    return route.path if isinstance(route, Route) else None


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _swagger_page(app: FastAPI) -> Page:
    async def swagger(request: Request) -> Response:
        root = _root(request)
        redirect = app.swagger_ui_oauth2_redirect_url
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            oauth2_redirect_url=f"{root}{redirect}" if redirect else None,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
        )

    return swagger


def _redoc_page(app: FastAPI) -> Page:
    async def redoc(request: Request) -> Response:
        root = _root(request)
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )

    return redoc


async def _asset(request: Request) -> Response:
    return _file(request.path_params["name"])


async def _redoc_logo(_: Request) -> Response:
    return _file(REDOC_LOGO)


def _file(name: str) -> Response:
    found = ASSETS.get(name)  # only these names: no path from the request reaches the disk
    if found is None:
        raise HTTPProblem(404, "no such documentation asset")
    path, media_type = found
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": CACHE_CONTROL})
