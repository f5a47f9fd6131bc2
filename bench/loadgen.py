"""Load generators: `wrk` with a Lua script when installed, a bundled asyncio one otherwise.

Both keep `connections` HTTP/1.1 keep-alive connections busy with the same POST for `seconds`
and report requests, throughput and latency percentiles in one `Load` record. The asyncio
generator opens a fresh connection every `reconnect_every` requests so that, with several
uvicorn workers sharing one socket, keep-alive cannot pin the whole load to one worker.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

WRK = shutil.which("wrk")

_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
local f = assert(io.open("{body}", "rb"))
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {{"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "mean_us": %.1f}}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


@dataclass(frozen=True, slots=True)
class Load:
    """One load run against one URL."""

    tool: str
    requests: int
    errors: int  # connection errors and non-2xx answers
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def run_load(
    url: str,
    body: bytes,
    *,
    connections: int = 16,
    seconds: float = 3.0,
    tool: str = "auto",
    reconnect_every: int = 50,
) -> Load:
    """Drive `url` with POSTs of `body` from `connections` connections for `seconds`."""
    if tool == "wrk" or (tool == "auto" and WRK):
        if not WRK:
            raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
        return _wrk(url, body, connections, seconds)
    return asyncio.run(_asyncio_load(url, body, connections, seconds, reconnect_every))


def _wrk(url: str, body: bytes, connections: int, seconds: float) -> Load:
    assert WRK is not None
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        body_path = Path(tmp, "body.json")
        body_path.write_bytes(body)
        script = Path(tmp, "post.lua")
        script.write_text(_LUA.format(body=body_path.as_posix()))
        # One wrk thread: on a 2-core machine every cycle wrk spends is taken from the server.
        command = [WRK, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
        command += ["--timeout", "30s", "-s", str(script), url]
        out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no summary: {out.stdout[-500:]} {out.stderr[-500:]}")
    data = json.loads(line.removeprefix("BENCH "))
    duration = data["duration_us"] / 1e6
    return Load(
        tool="wrk",
        requests=data["requests"],
        errors=data["errors"] + data["non2xx"],
        seconds=round(duration, 3),
        rps=round(data["requests"] / duration, 1),
        p50_ms=round(data["p50_us"] / 1000, 2),
        p99_ms=round(data["p99_us"] / 1000, 2),
        mean_ms=round(data["mean_us"] / 1000, 2),
    )


def _request_bytes(host: str, port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Status code and whether the server keeps the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, keep = 0, True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
    if length:
        await reader.readexactly(length)
    return status, keep


async def _asyncio_load(
    url: str, body: bytes, connections: int, seconds: float, reconnect_every: int
) -> Load:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = _request_bytes(host, port, parts.path or "/", body)
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                errors += 1
                await asyncio.sleep(0.01)
                continue
            try:
                for _ in range(reconnect_every):
                    if time.perf_counter() >= deadline:
                        break
                    started = time.perf_counter()
                    writer.write(request)
                    status, keep = await _read_response(reader)
                    latencies.append(time.perf_counter() - started)
                    errors += not 200 <= status < 300
                    if not keep:
                        break
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
            finally:
                writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return summarise("asyncio", latencies, errors, elapsed)


def summarise(tool: str, latencies: list[float], errors: int, elapsed: float) -> Load:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        if not ordered:
            return float("nan")
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000, 2)

    mean = sum(ordered) / len(ordered) * 1000 if ordered else float("nan")
    return Load(
        tool=tool,
        requests=len(ordered),
        errors=errors,
        seconds=round(elapsed, 3),
        rps=round(len(ordered) / elapsed, 1) if elapsed else 0.0,
        p50_ms=pct(50),
        p99_ms=pct(99),
        mean_ms=round(mean, 2),
    )
