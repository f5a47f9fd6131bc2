"""Reading FHIR data: resources out of prefetch values, and fetches from the client's FHIR server.

Every fetch is bounded (time, bytes, pages), follows `next` links only on the server it started
from, and never follows redirects, so a request cannot steer the service to another host. The
access token goes only to that server and never appears in an error message or a log line.

A server behind a gateway may write its `next` links on its own base (`http://internal:8080/fhir`)
rather than the `fhirServer` the EHR gave: such a link is re-based onto `fhirServer` when the
server has shown its own base (the `self` link of a page, compared with the URL that page was
asked at) and the link lies below it; any other link on another base is refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import msgspec
import orjson

from service.fhir.urls import rebased, same_server, unsafe_reason

_ERROR_SEVERITIES = {"error", "fatal", None}


class FhirError(Exception):
    """The data could not be had; the message is safe to log (no token, no patient data)."""


class OutcomeInPlace(FhirError):
    """An OperationOutcome (or a Bundle carrying an error outcome) stands where data should be."""


def _is_error_outcome(resource: dict[str, Any]) -> bool:
    issues = resource.get("issue")
    if not isinstance(issues, list) or not issues:
        return True
    return any(isinstance(i, dict) and i.get("severity") in _ERROR_SEVERITIES for i in issues)


def resources_of(value: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The resources in a prefetch value or search page, and its `next` link if any.

    A Bundle's informational OperationOutcome entries are skipped; an error outcome, or an
    OperationOutcome in place of the data, raises OutcomeInPlace (the spec: treat as absent).
    An entry's resource still encoded (`hooks.read_body`, `defer_entries`) is passed on as it is:
    `hooks.EntryDecoder` looks for OperationOutcomes among those as it decodes them.
    """
    if not isinstance(value, dict):
        raise FhirError("not a FHIR resource")
    kind = value.get("resourceType")
    if kind == "OperationOutcome":
        raise OutcomeInPlace("an OperationOutcome instead of data")
    if kind != "Bundle":
        if not isinstance(kind, str) or not kind:
            raise FhirError("a JSON object without resourceType")
        return [value], None
    found: list[Any] = []  # resources, and entries still encoded (msgspec.Raw)
    entries = value.get("entry")
    for entry in entries if isinstance(entries, list) else ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if resource.__class__ is msgspec.Raw:
            found.append(resource)
            continue
        if not isinstance(resource, dict):
            continue
        if resource.get("resourceType") == "OperationOutcome":
            if _is_error_outcome(resource):
                raise OutcomeInPlace("a Bundle carrying an error OperationOutcome")
            continue
        found.append(resource)
    return found, next_link(value)


def next_link(bundle: dict[str, Any]) -> str | None:
    return bundle_link(bundle, "next")


def bundle_link(bundle: dict[str, Any], relation: str) -> str | None:
    """The URL of the Bundle's first link with this relation (`next`, `self`), if any."""
    links = bundle.get("link")
    for link in links if isinstance(links, list) else ():
        if isinstance(link, dict) and link.get("relation") == relation:
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None


def _path(url: str) -> bytes | None:
    try:
        return httpx.URL(url).raw_path.partition(b"?")[0].rstrip(b"/")
    except (httpx.InvalidURL, ValueError):
        return None


def _with_path(url: str, path: bytes) -> str | None:
    try:
        return str(httpx.URL(url).copy_with(raw_path=path, fragment=None))
    except (httpx.InvalidURL, ValueError, UnicodeError):
        return None


def own_base(self_url: str | None, asked: str, base: str) -> str | None:
    """The server's own base, from the `self` link of the page the service asked for at `asked`
    (a URL on `base`): what stands before the part of the path `asked` has below `base`.

    `self` `http://internal:8080/fhir/Condition?patient=1` for `https://gw/fhir/Condition?...`
    gives `http://internal:8080/fhir`; for a page asked at the base itself (HAPI's
    `https://gw/fhir?_getpages=x`) the `self` link's whole path is the base.
    """
    if self_url is None:
        return None
    below, at, mine = _path(asked), _path(base), _path(self_url)
    if below is None or at is None or mine is None or not below.startswith(at):
        return None
    tail = below[len(at) :]
    if tail and not mine.endswith(tail):
        return None
    return _with_path(self_url, mine[: len(mine) - len(tail)])


def _refusal(what: str, url: str) -> str:
    """Why `url` is not fetched, naming what it is but never the URL (it may hold patient ids)."""
    reason = unsafe_reason(url)
    if reason is not None:
        return f"{what} {reason}"
    return f"{what} points away from the FHIR server"


def _on_base(url: str, base: str, own_bases: list[str]) -> str:
    """`url` if it is on `base`, else re-based onto it from a base the server showed as its own;
    FhirError if neither."""
    if same_server(url, base):
        return url
    for own in own_bases:
        moved = rebased(url, own, base)
        if moved is not None:
            return moved
    raise FhirError(_refusal("a next link", url))


class FhirClient:
    """Fetches prefetch templates from a FHIR server with one shared connection pool."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        timeout_s: float,
        max_pages: int,
        max_bytes: int,
        allowed: Callable[[str], bool] = lambda base: True,
    ) -> None:
        self._http = http
        self.timeout_s = timeout_s
        self.max_pages = max_pages
        self.max_bytes = max_bytes
        self.allowed = allowed

    async def fetch(self, base: str, query: str, token: str | None) -> list[dict[str, Any]]:
        """Run one template (a read or a search) within the time budget."""
        url = base.rstrip("/") + "/" + query.lstrip("/")
        if not same_server(url, base):  # a context value must not steer the request elsewhere
            raise FhirError(_refusal("a prefetch query", url))
        kind = query.split("?", 1)[0].split("/", 1)[0]
        try:
            async with asyncio.timeout(self.timeout_s):
                if "?" not in query:
                    return await self._read(url, kind, token)
                return await self._pages(base, url, token, [])
        except TimeoutError:
            raise FhirError(f"FHIR server did not answer within {self.timeout_s:g} s") from None

    async def follow(
        self,
        base: str,
        url: str,
        token: str | None,
        have: list[dict[str, Any]],
        *,
        kind: str = "",
        self_url: str | None = None,
    ) -> list[dict[str, Any]]:
        """Continue a paginated prefetch value of a `kind` search from its `next` link;
        `self_url` is the value's `self` link, which may name the server's own base."""
        asked = f"{base.rstrip('/')}/{kind}"
        bases = [b for b in (own_base(self_url, asked, base),) if b]
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._pages(base, url, token, have, bases)
        except TimeoutError:
            raise FhirError(f"FHIR server did not answer within {self.timeout_s:g} s") from None

    async def _read(self, url: str, expected: str, token: str | None) -> list[dict[str, Any]]:
        body = await self._get(url, token, missing_ok=True)
        if body is None:
            return []
        if body.get("resourceType") != expected:
            raise FhirError(f"a read of {expected} returned {body.get('resourceType')!r}")
        return [body]

    async def _pages(
        self,
        base: str,
        url: str,
        token: str | None,
        have: list[dict[str, Any]],
        own_bases: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        resources = list(have)
        bases = list(own_bases or ())  # the server's own bases its pages showed
        seen: set[str] = set()
        next_url: str | None = url
        while next_url:
            asked = _on_base(next_url, base, bases)  # checked before the token goes anywhere
            if asked in seen:  # a link back to a seen page ends the walk
                break
            if len(seen) >= self.max_pages:
                raise FhirError(f"more than {self.max_pages} pages of search results")
            seen.add(asked)
            page = await self._get(asked, token)
            if page is None or page.get("resourceType") != "Bundle":
                raise FhirError("a search did not return a Bundle")
            found, next_url = resources_of(page)
            learned = own_base(bundle_link(page, "self"), asked, base)
            if learned and learned not in bases:
                bases.append(learned)
            resources.extend(found)
        return resources

    async def _get(self, url: str, token: str | None, missing_ok: bool = False) -> dict | None:
        headers = {"Accept": "application/fhir+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self._http.stream("GET", url, headers=headers) as response:
                status = response.status_code
                if status == 404 and missing_ok:
                    return None
                if status in (401, 403):
                    raise FhirError(f"FHIR server refused access ({status})")
                if not 200 <= status < 300:
                    raise FhirError(f"FHIR server answered {status}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise FhirError("FHIR response larger than the configured limit")
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > self.max_bytes:
                        raise FhirError("FHIR response larger than the configured limit")
        except httpx.TimeoutException:
            raise FhirError("FHIR server timed out") from None
        except (UnicodeError, ValueError, httpx.InvalidURL):  # a header or URL httpx cannot encode
            raise FhirError("the request to the FHIR server could not be encoded") from None
        except httpx.HTTPError as exc:
            raise FhirError(f"FHIR server unreachable ({type(exc).__name__})") from None
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise FhirError("FHIR server answered with something other than JSON") from None
        if not isinstance(body, dict):
            raise FhirError("FHIR server answered with JSON that is not a resource")
        return body
