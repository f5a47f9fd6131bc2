"""What one replica needs: resident memory at rest and after load, CPU per call (`scripts/cluster
--sizing`; the figures and how they size a pod are in docs/deploy.md).

The load is bench/run.py's patient-view at 50 and 500 resources (bench/patients.py), plus the
largest chart the default body limit admits (MSCDS_MAX_BODY_BYTES, 5 MiB), sent through HAProxy
with a fresh JWT per call, as production calls arrive. CPU per call is the replicas' CPU seconds
(/proc utime + stime) over the calls they answered; RSS is VmRSS of each replica process.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson

from bench.patients import hook_request, patient_resources
from tests.cluster.cluster import Cluster
from tests.cluster.load import steady_load, summarise

SIZES = (50, 500)
LIMIT_BYTES = 5 * 1024 * 1024  # MSCDS_MAX_BODY_BYTES' default


@dataclass(frozen=True)
class Step:
    what: str
    body_kb: int
    clients: int
    calls: int
    failed: int
    rps: float
    cpu_ms_per_call: float
    p50_ms: float
    p99_ms: float
    rss_mb: dict[str, float]  # per replica, after the step
    peak_mb: dict[str, float]  # per replica, the most resident memory since it started

    def line(self) -> str:
        rss = "/".join(f"{v:.0f}" for v in self.rss_mb.values())
        peak = "/".join(f"{v:.0f}" for v in self.peak_mb.values())
        return (
            f"{self.what:<18} {self.body_kb:>5} KB {self.clients:>2} clients {self.calls:>5} calls "
            f"{self.failed} failed {self.rps:>6.1f}/s  CPU {self.cpu_ms_per_call:6.2f} ms/call  "
            f"p50 {self.p50_ms:6.1f} p99 {self.p99_ms:6.1f} ms  RSS {rss} MB, peak {peak} MB"
        )


def _service() -> dict[str, Any]:
    from service.discovery import discovery_document

    return next(s for s in discovery_document()["services"] if s["hook"] == "patient-view")


def largest_admitted() -> tuple[int, dict[str, Any]]:
    """The most resources whose request still fits the default body limit (step of 250)."""
    best = (0, {})
    for n in range(500, 5001, 250):
        body = hook_request(_service(), patient_resources(n))
        if len(orjson.dumps(body)) > LIMIT_BYTES:
            break
        best = (n, body)
    return best


def _step(cluster: Cluster, what: str, body: dict[str, Any], clients: int, seconds: float) -> Step:
    async def run() -> list[Any]:
        stop = asyncio.Event()
        load = asyncio.create_task(
            steady_load(cluster.haproxy.url, cluster.issuer, stop, clients=clients, body=body)
        )
        await asyncio.sleep(seconds)
        stop.set()
        return await load

    cpu = cluster.cpu_s()
    calls = asyncio.run(run())
    used = cluster.cpu_s() - cpu
    summary = summarise(calls)
    answered = max(1, summary.calls - summary.failed)
    return Step(
        what,
        len(orjson.dumps(body)) // 1024,
        clients,
        summary.calls,
        summary.failed,
        round(summary.calls / seconds, 1),
        round(used / answered * 1000, 2),
        summary.p50_ms,
        summary.p99_ms,
        cluster.rss_mb(),
        cluster.peak_rss_mb(),
    )


def measure(cluster: Cluster, *, seconds: float = 10.0) -> list[str]:
    """Lines to print: RSS at rest, then one line per load step."""
    lines = [f"RSS at rest (MB): {cluster.rss_mb()}, peak so far {cluster.peak_rss_mb()}"]
    for n in SIZES:
        body = hook_request(_service(), patient_resources(n))
        _step(cluster, "warm-up", body, 2, 2.0)
        lines.append(_step(cluster, f"patient-view {n}", body, 8, seconds).line())
    n, body = largest_admitted()
    for clients in (3, 9):  # one, then three calls of that size per replica at once
        lines.append(_step(cluster, f"patient-view {n}", body, clients, seconds).line())
    lines.append(f"RSS after the load (MB): {cluster.rss_mb()}, peak {cluster.peak_rss_mb()}")
    return lines
