"""The request body limit (`MSCDS_MAX_BODY_BYTES`): one rule for the declared size, and a count
of what streams in for a body that declares none."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http.errors import HTTPProblem

# More digits than this is over any limit; int() refuses numbers of over 4,300 digits.
_MAX_DIGITS = 18


class BodyTooLarge(HTTPProblem):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


def content_length_problem(value: bytes, max_bytes: int) -> HTTPProblem | None:
    """What is wrong with a declared Content-Length: None for a number within the limit."""
    if not value.isdigit():
        return HTTPProblem(400, "invalid Content-Length")
    if len(value) > _MAX_DIGITS or int(value) > max_bytes:
        return BodyTooLarge(max_bytes)
    return None


class BodyLimit:
    """Refuse request bodies over `max_bytes`: by Content-Length, and by counting what streams
    in (chunked bodies). Both raise; `service.http.errors` answers."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                problem = content_length_problem(value, self.max_bytes)
                if problem is not None:
                    raise problem
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)
