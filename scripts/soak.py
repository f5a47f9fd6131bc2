"""Sustained load: mixed hook calls and feedback at a steady rate against a real server process.

    .venv/bin/python scripts/soak.py                    # 60 s at 40 requests/s
    .venv/bin/python scripts/soak.py --seconds 3600     # a one-hour soak
    .venv/bin/python scripts/soak.py --rate 100 --json soak.json

Starts `ms-backpain-cds serve` itself on 127.0.0.1 (a free port, MSCDS_AUTH=off, a temporary data
directory), sends patient-view, order-select, order-sign (sample patients with complete prefetch
and sample draft orders) and feedback (new card ids, so the database grows) on a fixed schedule
(open loop: a slow answer does not slow the sender), then stops the server. Per 10 s window it
reports requests, errors, p50/p99 latency and the server's resident memory.

Exit status 0 when: no errors, p99 of the last window <= 2 x the first window's + 10 ms, and
resident memory grew less than 10% from the first window to the last.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import itertools
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.reliability.server import ServerProcess
from tests.fixtures.reliability.strategies import SERVICE_IDS, _seed_requests

MIX = ("patient-view", "order-select", "order-sign", "patient-view", "feedback")


@dataclass
class Window:
    start: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    rss_kb: list[int] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)

    def p(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def rss_mb(self) -> float:
        return statistics.mean(self.rss_kb) / 1024 if self.rss_kb else float("nan")


def _requests() -> itertools.cycle[tuple[str, str, bytes]]:
    """(kind, path, body) in a fixed mix; hook bodies from the sample patients."""
    seeds = _seed_requests()
    pool: list[tuple[str, str, bytes]] = []
    for i, kind in enumerate(MIX * 6):
        if kind == "feedback":
            pool.append((kind, "", b""))  # built per request: each carries new card ids
            continue
        request = copy.deepcopy(seeds[kind][i % len(seeds[kind])])
        pool.append((kind, f"/cds-services/{SERVICE_IDS[kind]}", orjson.dumps(request)))
    return itertools.cycle(pool)


def _feedback() -> tuple[str, bytes]:
    card = f"soak-{uuid.uuid4()}"
    body = {
        "feedback": [
            {
                "card": card,
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "s-1"}],
                "outcomeTimestamp": datetime.now(UTC).isoformat(),
            }
        ]
    }
    return "/cds-services/ms-back-pain-patient-view/feedback", orjson.dumps(body)


async def soak(
    url: str, server: ServerProcess, seconds: float, rate: float, window_s: float
) -> list[Window]:
    windows = [Window(0.0)]
    started = time.monotonic()
    requests = _requests()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    headers = {"content-type": "application/json"}
    pending: set[asyncio.Task[None]] = set()

    def window_at(t: float) -> Window:
        index = int(t // window_s)
        while len(windows) <= index:
            windows.append(Window(len(windows) * window_s))
        return windows[index]

    async def one(http: httpx.AsyncClient, kind: str, path: str, body: bytes) -> None:
        sent = time.monotonic()
        window = window_at(sent - started)
        window.kinds[kind] = window.kinds.get(kind, 0) + 1
        try:
            response = await http.post(url + path, content=body, headers=headers)
            ok = response.status_code == 200 and (kind == "feedback" or "cards" in response.json())
        except httpx.HTTPError:
            ok = False
        window.latencies_ms.append((time.monotonic() - sent) * 1000)
        window.errors += not ok

    async def sample_memory() -> None:
        while True:
            window_at(time.monotonic() - started).rss_kb.append(server.rss_kb())
            await asyncio.sleep(0.5)

    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        sampler = asyncio.create_task(sample_memory())
        total = int(seconds * rate)
        for n in range(total):
            delay = started + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            kind, path, body = next(requests)
            if kind == "feedback":
                path, body = _feedback()
            task = asyncio.create_task(one(http, kind, path, body))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
        sampler.cancel()
    full = [w for w in windows if w.start + window_s <= seconds + 1e-9 and w.latencies_ms]
    return full or windows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=40, help="requests per second")
    parser.add_argument("--window", type=float, default=10, help="report window, seconds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mscds-soak-") as tmp:
        # One client sends all the feedback: a soak of the service, not of its rate limit.
        server = ServerProcess(Path(tmp), env={"MSCDS_FEEDBACK_RATE": "0"}).start()
        try:
            windows = asyncio.run(soak(server.url, server, args.seconds, args.rate, args.window))
            alive = server.process is not None and server.process.poll() is None
        finally:
            server.stop()

    print(f"soak: {args.seconds:g} s at {args.rate:g} requests/s, mix {'/'.join(MIX)}")
    print(f"{'window':>8} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8} {'RSS MB':>8}")
    for w in windows:
        print(
            f"{w.start:>7.0f}s {len(w.latencies_ms):>9} {w.errors:>7} "
            f"{w.p(0.50):>8.1f} {w.p(0.99):>8.1f} {w.rss_mb:>8.1f}"
        )
    first, last = windows[0], windows[-1]
    requests = sum(len(w.latencies_ms) for w in windows)
    errors = sum(w.errors for w in windows)
    growth = (last.rss_mb - first.rss_mb) / first.rss_mb * 100
    p99_ok = last.p(0.99) <= 2 * first.p(0.99) + 10
    verdict = errors == 0 and p99_ok and growth < 10 and alive
    print(
        f"total {requests} requests, {errors} errors; p99 first {first.p(0.99):.1f} ms, "
        f"last {last.p(0.99):.1f} ms; RSS first {first.rss_mb:.1f} MB, last {last.rss_mb:.1f} MB "
        f"({growth:+.1f}%); server alive at the end: {alive}; "
        f"verdict {'OK' if verdict else 'FAILED'}"
    )
    if args.json:
        args.json.write_text(
            orjson.dumps(
                {
                    "seconds": args.seconds,
                    "rate": args.rate,
                    "requests": requests,
                    "errors": errors,
                    "windows": [
                        {
                            "start_s": w.start,
                            "requests": len(w.latencies_ms),
                            "errors": w.errors,
                            "p50_ms": w.p(0.5),
                            "p99_ms": w.p(0.99),
                            "rss_mb": w.rss_mb,
                            "kinds": w.kinds,
                        }
                        for w in windows
                    ],
                    "rss_growth_pct": growth,
                    "ok": verdict,
                },
                option=orjson.OPT_INDENT_2,
            ).decode()
        )
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
