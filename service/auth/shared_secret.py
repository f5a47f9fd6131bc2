"""A shared secret presented by an operator's tool: a Prometheus scraper or a browser.

`/metrics` and `/admin/report` are not called by EHRs, so they are not behind the JWTs of CDS
Hooks but behind a configured secret each (MSCDS_METRICS_TOKEN, MSCDS_ADMIN_TOKEN): sent as a
Bearer token (Prometheus `authorization`), or as the password of HTTP Basic authentication (what
a browser asks for; any user name). Compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.requests import Request


def presented(request: Request) -> str | None:
    """The secret in the Authorization header, if any."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "bearer" and value:
        return value
    if scheme == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def credential_matches(request: Request, expected: str) -> bool:
    secret = presented(request)
    return secret is not None and hmac.compare_digest(secret.encode(), expected.encode())
