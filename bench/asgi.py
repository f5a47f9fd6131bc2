"""The whole application per request, without sockets: CPU time of direct ASGI calls.

    .venv/bin/python bench/asgi.py [--size 50] [--hook patient-view] [--calls 2000] [--floor]
                                   [--defer auto|always|never] [--auth ES384|RS384]

Runs the app's lifespan (auth off, a temporary SQLite database) and calls it as uvicorn would,
with one `http.request` message, so the figure holds everything the service adds to the
handler's work (middlewares, routing, dependencies, the log line, the response) and nothing of
the network. Compare two trees by running this script from each, alternating. `--defer` overrides
the body size above which prefetch entries are decoded only when read
(`service.fhir.decoding.DEFER_ENTRIES_ABOVE`), to find where deferring starts to pay. `--auth` runs
the app with `MSCDS_AUTH=jwt` and one trusted issuer (an inline JWK Set, the in-process replay
cache), each call carrying its own token signed beforehand, so the figure includes verifying it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


_GC: list[float] = []  # seconds of each collection during the measured calls
_gc_started = 0.0


def _gc_timer(phase: str, info: dict[str, int]) -> None:
    global _gc_started
    if phase == "start":
        _gc_started = time.perf_counter()
    else:
        _GC.append(time.perf_counter() - _gc_started)


async def _measure(
    app: Any, path: str, body: bytes, calls: int, rounds: int, tokens: Iterator[bytes] | None = None
) -> list[float]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    headers = scope["headers"]
    scopes = [dict(scope) for _ in range(calls)]
    per_call = []
    _GC.clear()
    for _ in range(rounds):
        if tokens is not None:  # signed beforehand: verifying is measured, signing is not
            for each in scopes:
                each["headers"] = [*headers, (b"authorization", b"Bearer " + next(tokens))]
        started = time.process_time()
        for each in scopes:
            await app(dict(each), receive, send)
        per_call.append((time.process_time() - started) / calls * 1000)
    if set(status) != {200}:
        raise SystemExit(f"unexpected statuses {sorted(set(status))}")
    return per_call


async def _run(
    size: int, hook: str, calls: int, rounds: int, floor: bool, tokens: Iterator[bytes] | None
) -> list[float]:
    from bench.patients import hook_request, patient_resources
    from service.discovery import discovery_document
    from service.http.app import create_app

    entry = next(s for s in discovery_document()["services"] if s["hook"] == hook)
    body = orjson.dumps(hook_request(entry, patient_resources(size)))
    if floor:
        from bench.floor import app
    else:
        app = create_app()
    lifespan_messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await lifespan_messages.put({"type": "lifespan.startup"})
    task = asyncio.create_task(
        app(
            {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
            lifespan_messages.get,
            replies.put,
        )
    )
    started = await replies.get()
    if started["type"] != "lifespan.startup.complete":
        raise SystemExit(f"start-up failed: {started}")
    try:
        path = f"/cds-services/{entry['id']}"
        await _measure(app, path, body, max(10, calls // 10), 1, tokens)  # warm up
        return await _measure(app, path, body, calls, rounds, tokens)
    finally:
        await lifespan_messages.put({"type": "lifespan.shutdown"})
        await replies.get()
        await task


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--hook", default="patient-view")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--floor", action="store_true", help="the benchmark's floor app instead")
    parser.add_argument("--defer", choices=("auto", "always", "never"), default="auto")
    parser.add_argument("--auth", choices=("ES384", "RS384"), help="verify a JWT on every call")
    args = parser.parse_args()
    if args.defer != "auto":
        from service.fhir import decoding as hooks

        hooks.DEFER_ENTRIES_ABOVE = -1 if args.defer == "always" else 1 << 62
    with tempfile.TemporaryDirectory() as data_dir:
        os.environ.update(
            {
                "MSCDS_AUTH": "off",
                "MSCDS_DATA_DIR": data_dir,
                "MSCDS_LOG_LEVEL": "WARNING",
                "MSCDS_MAX_BODY_BYTES": str(64 * 1024 * 1024),
            }
        )
        tokens = None
        if args.auth:
            from bench.tokens import Issuer, service_id

            issuer = Issuer(args.auth)
            os.environ.update(issuer.settings())
            path = f"/cds-services/{service_id(args.hook)}"
            tokens = issuer.tokens(path, args.calls * (args.rounds + 1))
        gc.collect()
        gc.callbacks.append(_gc_timer)
        per_call = asyncio.run(
            _run(args.size, args.hook, args.calls, args.rounds, args.floor, tokens)
        )
    calls = args.calls * args.rounds
    name = f"{'floor ' if args.floor else ''}{args.hook}/{args.size}"
    if args.defer != "auto":
        name += f" (defer {args.defer})"
    if args.auth:
        name += f" (JWT {args.auth})"
    print(
        f"{name}: CPU per call min {min(per_call):.3f} ms, "
        f"median {statistics.median(per_call):.3f} ms ({args.rounds} x {args.calls}); "
        f"GC {len(_GC) / calls:.2f} collections, {sum(_GC) / calls * 1000:.3f} ms per call"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
