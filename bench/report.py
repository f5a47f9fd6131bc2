"""The benchmark's printed table, and a description of the machine it ran on."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

TARGET_RPS = 0.5  # service throughput >= 0.5 x floor (50 and 500 resources)
TARGET_P99_MS = 20.0  # p99 at 16 connections, 50 resources
TARGET_LINEAR = 12.0  # 5,000 resources cost < 12 x 500
TARGET_FETCH = 1.3  # no-prefetch total <= 1.3 x the slowest single query


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "system": platform.platform()}


def _own_ms(load: dict[str, Any]) -> float:
    """Milliseconds of one worker per request beyond the floor's (1/throughput difference)."""
    return 1000 / load["service"]["rps"] - 1000 / load["floor"]["rps"]


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISS"


def table(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"\nms-backpain-cds benchmark  {results['when']}  {results['label']}",
        f"{m['cpus']} CPUs ({m['cpu']}), Python {results['python']}, load: {results['tool']}, "
        f"{results['connections']} connections, {results['seconds_per_run']} s x "
        f"{results['rounds']} alternating rounds (medians)",
        "",
        f"{'w':>1} {'hook/resources':<19} {'KB':>6} {'cards':>5} | {'floor rps':>9} "
        f"{'svc rps':>8} {'ratio':>5} | {'floor p50':>9} {'svc p50':>8} {'ratio':>5} | "
        f"{'floor p99':>9} {'svc p99':>8} {'ratio':>5} | cpu s per worker",
    ]
    for workers, run in results["workers"].items():
        for name, r in run["loads"].items():
            if "error" in r:
                lines.append(f"{workers:>1} {name:<19} FAILED: {r['error'][:120]}")
                continue
            f, s, ratio = r["floor"], r["service"], r["ratio"]
            cpu = " ".join(f"{v:g}" for v in r["worker_cpu_s"].values())
            lines.append(
                f"{workers:>1} {name:<19} {r['body_bytes'] / 1024:>6.0f} {r['cards']:>5} | "
                f"{f['rps']:>9.0f} {s['rps']:>8.0f} {ratio['rps']:>5.2f} | "
                f"{f['p50_ms']:>9.2f} {s['p50_ms']:>8.2f} {ratio['p50']:>5.2f} | "
                f"{f['p99_ms']:>9.2f} {s['p99_ms']:>8.2f} {ratio['p99']:>5.2f} | {cpu}"
                + (f"  errors={s['errors']}" if s["errors"] or f["errors"] else "")
            )
    lines += ["", "CPU ms per request (worker CPU / completed requests), and in-process stages:"]
    for workers, run in results["workers"].items():
        for name, r in run["loads"].items():
            if "error" in r or "cpu_ms_per_request" not in r["service"]:
                continue
            f, s = r["floor"]["cpu_ms_per_request"], r["service"]["cpu_ms_per_request"]
            stage = results.get("in_process_ms", {}).get(name) if workers == "1" else None
            extra = ""
            if stage:
                extra = "   in-process " + ", ".join(f"{k} {v:g}" for k, v in stage.items())
            lines.append(
                f"{workers:>1} {name:<19} floor {f:>8.3f}  service {s:>8.3f}  "
                f"ratio {r['ratio']['cpu']:>5.2f}{extra}"
            )
    lines += ["", "Targets:"]
    one = {
        k: v
        for k, v in results["workers"].get("1", {}).get("loads", {}).items()
        if "error" not in v
    }
    for hook in ("patient-view", "order-select"):
        for n in (50, 500):
            r = one.get(f"{hook}/{n}")
            if r:
                ok = r["ratio"]["rps"] >= TARGET_RPS
                lines.append(
                    f"  {hook} {n}: throughput {r['ratio']['rps']:.2f} x floor "
                    f"(>= {TARGET_RPS}) {_mark(ok)}"
                )
        r = one.get(f"{hook}/50")
        if r:
            p99 = r["service"]["p99_ms"]
            mark = _mark(p99 < TARGET_P99_MS)
            lines.append(f"  {hook} 50: p99 {p99:.1f} ms (< {TARGET_P99_MS:g}) {mark}")
        small, big = one.get(f"{hook}/500"), one.get(f"{hook}/5000")
        if small and big and big["service"]["rps"]:
            cost = small["service"]["rps"] / big["service"]["rps"]
            beyond = (
                f"the service's own work (beyond the floor's parse) {_own_ms(small):.1f} -> "
                f"{_own_ms(big):.1f} ms, {_own_ms(big) / _own_ms(small):.1f} x"
                if _own_ms(small) > 0 and _own_ms(big) > 0
                else f"per request the service takes {_own_ms(small):+.1f} ms (500) and "
                f"{_own_ms(big):+.1f} ms (5,000) beside the floor"
            )
            lines.append(
                f"  {hook} 5000 vs 500: {cost:.1f} x the cost per request "
                f"(< {TARGET_LINEAR:g}) {_mark(cost < TARGET_LINEAR)}; {beyond}"
            )
            if "cpu_ms_per_request" in big["service"]:
                cpu = big["service"]["cpu_ms_per_request"] / small["service"]["cpu_ms_per_request"]
                lines.append(f"      in CPU per request: {cpu:.1f} x {_mark(cpu < TARGET_LINEAR)}")
            stages = results.get("in_process_ms", {})
            if f"{hook}/5000" in stages and f"{hook}/500" in stages:
                whole = stages[f"{hook}/5000"]["total"] / stages[f"{hook}/500"]["total"]
                work = stages[f"{hook}/5000"]["evaluate"] / stages[f"{hook}/500"]["evaluate"]
                lines.append(
                    f"      in-process: whole request {whole:.1f} x, evaluate (mappings + cards) "
                    f"{work:.1f} x"
                )
    two = {
        k: v
        for k, v in results["workers"].get("2", {}).get("loads", {}).items()
        if "error" not in v
    }
    for name, r in two.items():
        base = one.get(name)
        if base:
            cpu = list(r["worker_cpu_s"].values())
            busy = sum(1 for v in cpu if v > 0.2 * max(cpu or [1]))
            gain = r["service"]["rps"] / base["service"]["rps"]
            lines.append(
                f"  2 workers {name}: {gain:.2f} x the 1-worker throughput, "
                f"{busy} of {len(cpu)} child processes busy"
            )
        if name.endswith("/50"):  # a worker per core: how a 2-core machine is deployed
            p99 = r["service"]["p99_ms"]
            lines.append(
                f"  2 workers {name}: p99 {p99:.1f} ms (< {TARGET_P99_MS:g}) "
                f"{_mark(p99 < TARGET_P99_MS)}"
            )
    np = results.get("no_prefetch")
    if np:
        lines += [
            "",
            f"No prefetch ({np['delay_ms']} ms per FHIR query, {np['queries_per_call']:g} queries "
            f"per call, {np['fhir_connections_used']} connections over 20 calls): hook total "
            f"{np['hook_total_ms']:.1f} ms, slowest single query {np['slowest_query_ms']:.1f} ms, "
            f"sum {np['sum_of_queries_ms']:.1f} ms -> {np['ratio_to_slowest']:.2f} x slowest "
            f"(<= {TARGET_FETCH}) {_mark(np['ratio_to_slowest'] <= TARGET_FETCH)}",
        ]
        if "bare_client_concurrent_ms" in np:
            lines.append(
                f"  the same queries together from a bare httpx client: "
                f"{np['bare_client_concurrent_ms']:.1f} ms -> "
                f"{np['bare_client_ratio_to_slowest']:.2f} x slowest"
            )
    single = results.get("single_call_ms")
    if single:
        lines.append(
            f"One patient-view call, 50 resources, median of 100 sequential: "
            f"in-process {single['in_process']:.2f} ms, over HTTP {single['http']:.2f} ms"
        )
    lines.append("")
    for workers, run in results["workers"].items():
        lines.append(
            f"{workers} worker(s): start-up {run['startup_s']:.2f} s (floor "
            f"{run['floor_startup_s']:.2f} s); RSS {run['rss_after_start_mb']:.0f} MB after "
            f"start-up, {run['rss_after_load_mb']:.0f} MB after the load (floor "
            f"{run['floor_rss_after_start_mb']:.0f} / {run['floor_rss_after_load_mb']:.0f} MB)"
        )
    return "\n".join(lines)
