"""The performance benchmark (issue 7): the service against the HTTP floor, on this machine.

    .venv/bin/python bench/run.py            # full run, about 4 minutes
    .venv/bin/python bench/run.py --quick    # shorter loads, about 1 minute

In one run: patient-view and order-select over HTTP at 16 connections for patients of 50, 500
and 5,000 resources, alternating with a floor endpoint (bench/floor.py) so drift cancels; 1 and 2
workers (with CPU per worker to show the load spread); the no-prefetch path against a local FHIR
endpoint with a fixed delay per query (bench/slow_fhir.py); start-up time and RSS; the latency of
one call in-process and over HTTP. Prints a table and writes bench/results/<time>.json.
Loopback only; every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import procs, report
from bench.loadgen import WRK, Load, run_load
from bench.patients import hook_request, patient_resources

SIZES = (50, 500, 5000)
HOOKS = ("patient-view", "order-select")
CONNECTIONS = 16
FHIR_DELAY_MS = 50


def _median_load(loads: list[Load]) -> dict[str, Any]:
    return {
        "rps": round(statistics.median(x.rps for x in loads), 1),
        "p50_ms": round(statistics.median(x.p50_ms for x in loads), 2),
        "p99_ms": round(statistics.median(x.p99_ms for x in loads), 2),
        "requests": sum(x.requests for x in loads),
        "errors": sum(x.errors for x in loads),
        "runs": [x.as_dict() for x in loads],
    }


def discovery(server: procs.Server) -> dict[str, dict[str, Any]]:
    services = httpx.get(f"{server.base}/cds-services", timeout=10).json()["services"]
    return {s["hook"]: s for s in services}


def check_answer(server: procs.Server, service_id: str, body: bytes) -> int:
    """Warm up, and make sure the service answers 200 with cards before measuring it."""
    url = f"{server.base}/cds-services/{service_id}"
    headers = {"Content-Type": "application/json"}
    for _ in range(3):
        response = httpx.post(url, content=body, headers=headers, timeout=60)
    if response.status_code != 200:
        raise RuntimeError(f"{service_id} answered {response.status_code}: {response.text[:300]}")
    return len(response.json()["cards"])


def compare(
    service: procs.Server,
    floor: procs.Server,
    service_id: str,
    body: bytes,
    *,
    rounds: int,
    seconds: float,
    tool: str,
) -> dict[str, Any]:
    """Floor, service, floor, service...: medians of each, CPU per request, CPU per worker.

    CPU per request (worker CPU time over completed requests) hardly depends on what else runs
    on the machine, unlike throughput; it slightly overstates large requests, whose abandoned
    in-flight requests at each run's end are counted in CPU but not in requests.
    """
    path = f"/cds-services/{service_id}"
    loads: dict[str, list[Load]] = {"floor": [], "service": []}
    cpu = {"floor": 0.0, "service": 0.0}
    per_worker = service.worker_cpu()
    for _ in range(rounds):
        for name, server in (("floor", floor), ("service", service)):
            before = server.settled_cpu()
            loads[name].append(run_load(server.base + path, body, seconds=seconds, tool=tool))
            cpu[name] += server.settled_cpu() - before
    after = service.worker_cpu()
    spent = {str(pid): round(after.get(pid, 0) - per_worker.get(pid, 0), 2) for pid in after}
    f, s = _median_load(loads["floor"]), _median_load(loads["service"])
    for name, summary in (("floor", f), ("service", s)):
        summary["cpu_ms_per_request"] = round(cpu[name] * 1000 / max(1, summary["requests"]), 3)
    return {
        "floor": f,
        "service": s,
        "ratio": {
            "rps": round(s["rps"] / f["rps"], 2) if f["rps"] else None,
            "p50": round(s["p50_ms"] / f["p50_ms"], 2) if f["p50_ms"] else None,
            "p99": round(s["p99_ms"] / f["p99_ms"], 2) if f["p99_ms"] else None,
            "cpu": round(s["cpu_ms_per_request"] / f["cpu_ms_per_request"], 2)
            if f["cpu_ms_per_request"]
            else None,
        },
        "worker_cpu_s": spent,
    }


def in_process(patients: dict[int, list[dict]]) -> dict[str, dict[str, float]]:
    """Median stage timings (bench/profile.py) per hook and size, without HTTP or load."""
    import mappings
    from bench.profile import stages
    from service.discovery import discovery_document

    mappings.load_terminology()
    # Like the service after start-up: keep this process's own data (every benchmark patient)
    # out of the collections the measured requests trigger.
    from service import collector

    thresholds = gc.get_threshold()
    collector.settle()  # as the service sets it after start-up
    out: dict[str, dict[str, float]] = {}
    for entry in discovery_document()["services"][:2]:
        for n, resources in patients.items():
            body = orjson.dumps(hook_request(entry, resources))
            stages(entry["id"], body)
            runs = [stages(entry["id"], body) for _ in range(max(5, 5000 // n))]
            medians = {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}
            medians["total"] = round(statistics.median(sum(r.values()) for r in runs), 3)
            out[f"{entry['hook']}/{n}"] = medians
    gc.set_threshold(*thresholds)
    gc.unfreeze()
    return out


def single_call_http(server: procs.Server, service_id: str, body: bytes, n: int = 100) -> float:
    """Median of `n` sequential calls on one keep-alive connection, in ms."""
    times = []
    with httpx.Client(timeout=30, headers={"Content-Type": "application/json"}) as client:
        url = f"{server.base}/cds-services/{service_id}"
        client.post(url, content=body)
        for _ in range(n):
            started = time.perf_counter()
            response = client.post(url, content=body)
            times.append(time.perf_counter() - started)
            response.raise_for_status()
    return round(statistics.median(times) * 1000, 3)


def single_call_in_process(service_id: str, body: bytes, data_dir: Path, n: int = 100) -> float:
    """Median of `n` sequential calls through httpx.ASGITransport (no sockets), in ms."""
    from service.config import load_settings
    from service.http.app import create_app

    async def go() -> float:
        app = create_app(load_settings(auth="off", data_dir=data_dir, log_level="WARNING"))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            headers = {"Content-Type": "application/json"}
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                url = f"/cds-services/{service_id}"
                await client.post(url, content=body, headers=headers)
                times = []
                for _ in range(n):
                    started = time.perf_counter()
                    response = await client.post(url, content=body, headers=headers)
                    times.append(time.perf_counter() - started)
                    response.raise_for_status()
        return round(statistics.median(times) * 1000, 3)

    return asyncio.run(go())


def concurrent_queries(urls: list[str], n: int = 20) -> float:
    """Median ms for a bare httpx client to get `urls` concurrently over reused connections.

    The service fetches with httpx too, so this is the least its FHIR time could be on this
    machine: the delay plus the client's own work on each answer, which on 2 shared cores is
    not done side by side.
    """

    async def go() -> float:
        headers = {"Accept": "application/fhir+json"}
        async with httpx.AsyncClient(timeout=30) as client:
            times = []
            for i in range(n + 1):
                started = time.perf_counter()
                answers = await asyncio.gather(*(client.get(u, headers=headers) for u in urls))
                for answer in answers:
                    orjson.loads(answer.raise_for_status().content)
                if i:  # the first opens the connections
                    times.append(time.perf_counter() - started)
        return round(statistics.median(times) * 1000, 2)

    return asyncio.run(go())


def no_prefetch(
    service: procs.Server, fhir: procs.Server, hook: dict[str, Any], resources: list[dict]
) -> dict[str, Any]:
    """Total hook time without prefetch against the slowest single query of its templates, and
    against the same queries sent together by a bare client (`concurrent_queries`)."""
    fhir_base = f"{fhir.base}/fhir"
    patient_id = resources[0]["id"]
    singles: dict[str, float] = {}
    urls = [
        f"{fhir_base}/{template.replace('{{context.patientId}}', patient_id)}"
        for template in hook["prefetch"].values()
    ]
    with httpx.Client(timeout=30) as client:
        for key, url in zip(hook["prefetch"], urls, strict=True):
            times = []
            for _ in range(10):
                started = time.perf_counter()
                client.get(url).raise_for_status()
                times.append(time.perf_counter() - started)
            singles[key] = round(statistics.median(times) * 1000, 2)
        before = client.get(f"{fhir.base}/stats").json()
        body = orjson.dumps(hook_request(hook, resources, prefetch=False, fhir_server=fhir_base))
        url = f"{service.base}/cds-services/{hook['id']}"
        totals = []
        for _ in range(20):
            started = time.perf_counter()
            response = client.post(url, content=body, headers={"Content-Type": "application/json"})
            totals.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(
                    f"no-prefetch call: {response.status_code} {response.text[:300]}"
                )
        after = client.get(f"{fhir.base}/stats").json()
    slowest = max(singles.values())
    total = round(statistics.median(totals) * 1000, 2)
    together = concurrent_queries(urls)
    return {
        "delay_ms": FHIR_DELAY_MS,
        "single_query_ms": singles,
        "slowest_query_ms": slowest,
        "sum_of_queries_ms": round(sum(singles.values()), 2),
        "hook_total_ms": total,
        "ratio_to_slowest": round(total / slowest, 2),
        "bare_client_concurrent_ms": together,
        "bare_client_ratio_to_slowest": round(together / slowest, 2),
        "queries_per_call": round((after["queries"] - before["queries"]) / len(totals), 2),
        "fhir_connections_used": after["connections"] - before["connections"],
        "cards": len(response.json()["cards"]),
        "patient_id": patient_id,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 s loads, 2 rounds")
    parser.add_argument("--seconds", type=float, help="seconds per load run (default 3)")
    parser.add_argument("--rounds", type=int, help="floor/service alternations (default 3)")
    parser.add_argument("--tool", choices=("auto", "wrk", "asyncio"), default="auto")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--label", default="", help="a name for this run in the results file")
    args = parser.parse_args(argv)
    seconds = args.seconds or (1.0 if args.quick else 3.0)
    rounds = args.rounds or (2 if args.quick else 3)
    tool = args.tool if args.tool != "auto" else ("wrk" if WRK else "asyncio")

    results: dict[str, Any] = {
        "label": args.label,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": report.machine(),
        "python": platform.python_version(),
        "tool": tool,
        "connections": CONNECTIONS,
        "seconds_per_run": seconds,
        "rounds": rounds,
    }
    patients = {n: patient_resources(n) for n in args.sizes}
    print("  in-process stage timings...", flush=True)
    results["in_process_ms"] = in_process(patients)
    out_dir = Path(__file__).resolve().parent / "results"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{stamp}{'-' + args.label if args.label else ''}"
    logs = out_dir / f"{name}-logs"  # server logs, kept for a look after a failed run
    logs.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="mscds-bench-") as tmp:
        tmpdir = Path(tmp)
        fhir = procs.uvicorn_app(
            "slow-fhir",
            "slow_fhir:app",
            1,
            logs,
            {"BENCH_FHIR_DELAY_MS": str(FHIR_DELAY_MS), "BENCH_FHIR_PATIENT_SIZE": "50"},
        )
        servers = [fhir]
        try:
            results["workers"] = {}
            for workers in (1, 2):
                env = {"MSCDS_FHIR_SERVERS": orjson.dumps([f"{fhir.base}/fhir"]).decode()}
                data = tmpdir / f"data-w{workers}"
                service = procs.service(workers, logs, data, env)
                servers.append(service)
                floor = procs.uvicorn_app(f"floor-w{workers}", "floor:app", workers, logs, {})
                servers.append(floor)
                hooks = discovery(service)
                run: dict[str, Any] = {
                    "startup_s": service.started_s,
                    "floor_startup_s": floor.started_s,
                    "rss_after_start_mb": service.rss_start_mb,
                    "floor_rss_after_start_mb": floor.rss_start_mb,
                    "loads": {},
                }
                sizes = args.sizes if workers == 1 else [n for n in args.sizes if n <= 500]
                hook_names = HOOKS if workers == 1 else ("patient-view",)
                for n in sizes:
                    for hook in hook_names:
                        entry = hooks[hook]
                        body = orjson.dumps(hook_request(entry, patients[n]))
                        secs = seconds * 2 if n >= 5000 else seconds
                        print(f"  w{workers} {hook} {n} resources ({len(body):,} B)...", flush=True)
                        options = {"rounds": rounds, "seconds": secs, "tool": tool}
                        try:
                            cards = check_answer(service, entry["id"], body)
                            result = compare(service, floor, entry["id"], body, **options)
                        except (RuntimeError, httpx.HTTPError) as exc:
                            print(f"    failed: {exc} (server logs: {logs})", flush=True)
                            result = {"error": str(exc)[:500]}
                        else:
                            result.update(cards=cards, body_bytes=len(body))
                        run["loads"][f"{hook}/{n}"] = result
                if workers == 1 and 50 in patients:
                    entry = hooks["patient-view"]
                    body = orjson.dumps(hook_request(entry, patients[50]))
                    results["single_call_ms"] = {
                        "http": single_call_http(service, entry["id"], body),
                        "in_process": single_call_in_process(
                            entry["id"], body, tmpdir / "data-inproc"
                        ),
                    }
                    results["no_prefetch"] = no_prefetch(
                        service, fhir, entry, patient_resources(50)
                    )
                run["rss_after_load_mb"] = service.rss_mb()
                run["floor_rss_after_load_mb"] = floor.rss_mb()
                results["workers"][str(workers)] = run
                for server in (service, floor):
                    server.stop()
        finally:
            for server in servers:
                server.stop()
    print(report.table(results))
    out = out_dir / f"{name}.json"
    out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(f"\nresults: {out.relative_to(procs.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
