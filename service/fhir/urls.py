"""Which URLs may carry a FHIR access token: one rule for the configured bases
(`MSCDS_FHIR_SERVERS`), a hook's `fhirServer`, the queries built from it and every `next` link,
also one re-based from the server's own base onto `fhirServer` (`rebased`).

A URL is compared with an allowed base only once it is plain that a server will read its path as
written. Servers and URL parsers disagree about paths: Tomcat and Jetty (HAPI FHIR) read `..;`
as `..`, some servers decode percent-encoding twice, treat `\\` as `/` or fold look-alike
characters (U+FF0E `．`) to ASCII. Rather than guess one server's normalisation, a path that
carries any of these is refused: a `;` path parameter, a backslash, a `.` or `..` segment, a dot,
slash, backslash or semicolon percent-encoded (once or more, any case) or written as a look-alike,
a control character. FHIR's own paths (`[base]/[type]/[id]`, `_history`, `$operation`) need none.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote, urlsplit

import httpx

# C0 controls and DEL: httpx refuses them (InvalidURL), Python's urlsplit silently drops tab,
# CR and LF, so the two would not even agree on which URL it is.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What a server may treat as a path delimiter or a step up, were it to reach it decoded.
_PATH_SYNTAX = "./\\;"
_MAX_DECODINGS = 4


def has_control_character(url: str) -> bool:
    """True when `url` holds a tab, CR, LF, NUL or any other C0 control character or DEL."""
    return _CONTROL.search(url) is not None


def _decoded(path: str) -> str | None:
    """The path percent-decoded until nothing changes, or None if that takes too many rounds."""
    for _ in range(_MAX_DECODINGS):
        once = unquote(path)
        if once == path:
            return path
        path = once
    return None


def unsafe_reason(url: str) -> str | None:
    """Why a server might read `url` as a path other than the one it names, or None if it would not.

    The reason reads after the URL's field name ("fhirServer has a dot segment") and never
    repeats the URL itself, which may carry patient identifiers.
    """
    if has_control_character(url):
        return "contains a control character"
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return "is not a URL"
    path = parts.path
    if "\\" in parts.netloc or "\\" in path:
        return "has a backslash"
    if ";" in path:
        return "has a ';' path parameter"
    segments = path.split("/")
    if "." in segments or ".." in segments:
        return "has a dot segment"
    decoded = _decoded(path)
    if decoded is None:
        return "has percent-encoding nested too deep"
    if has_control_character(decoded):
        return "has a percent-encoded control character"
    # NFKC folds look-alikes (fullwidth `．`, `／`, `＼`, `；`, the one-dot leader) to ASCII.
    folded = unicodedata.normalize("NFKC", decoded)
    if any(folded.count(c) != path.count(c) for c in _PATH_SYNTAX):
        return "has a percent-encoded or look-alike '.', '/', '\\' or ';'"
    return None


def _origin(url: httpx.URL) -> tuple[str, bytes, int | None] | None:
    """Scheme, host and port as httpx will connect to them (a default port is None)."""
    if url.scheme not in ("http", "https") or not url.raw_host or url.userinfo:
        return None
    return url.scheme, url.raw_host.lower(), url.port


def _sent(url: str) -> httpx.URL | None:
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return None


def same_server(url: str, base: str) -> bool:
    """True when a request for `url` goes to `base`'s server at `base`'s path or below it.

    Same scheme, host and port (a default port counts as given), no credentials, and a path equal
    to the base's or below it at a `/` boundary, both as httpx sends them; and neither URL may
    carry anything `unsafe_reason` refuses.
    """
    if unsafe_reason(url) is not None or unsafe_reason(base) is not None:
        return False
    sent, allowed = _sent(url), _sent(base)
    if sent is None or allowed is None:
        return False
    origin = _origin(sent)
    if origin is None or origin != _origin(allowed):
        return False
    path = sent.raw_path.partition(b"?")[0]
    prefix = allowed.raw_path.partition(b"?")[0].rstrip(b"/")
    return path == prefix or path.startswith(prefix + b"/")


def rebased(url: str, own_base: str, base: str) -> str | None:
    """`url`, a link the FHIR server wrote on `own_base` (its own idea of its base, behind a
    gateway), moved onto `base`, the fhirServer the service may call; None if it cannot be.

    `http://internal:8080/fhir/Condition?_getpages=x` on `http://internal:8080/fhir` becomes
    `https://gw.example/fhir/Condition?_getpages=x` on `https://gw.example/fhir`. `url` must lie
    at or below `own_base` (same scheme, host and port, path at a `/` boundary), and the result
    must pass `same_server` with `base`: the request, and the token, go nowhere else.
    """
    if unsafe_reason(url) is not None or unsafe_reason(own_base) is not None:
        return None
    link, own = _sent(url), _sent(own_base)
    if link is None or own is None or _origin(link) is None or _origin(link) != _origin(own):
        return None
    path = link.raw_path.partition(b"?")[0]
    prefix = own.raw_path.partition(b"?")[0].rstrip(b"/")
    if path != prefix and not path.startswith(prefix + b"/"):
        return None
    rest = path[len(prefix) :].decode("ascii")
    query = link.query.decode("ascii")
    moved = base.rstrip("/") + rest + (f"?{query}" if query else "")
    return moved if same_server(moved, base) else None


def check_base(url: str) -> str:
    """A configured FHIR base (`MSCDS_FHIR_SERVERS`): refuse one the rule would refuse anyway."""
    reason = unsafe_reason(url)
    if reason is not None:
        raise ValueError(f"{url!r} {reason}")
    return url
