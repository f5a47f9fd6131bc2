"""Server processes for the benchmark: start, wait until ready, read RSS and CPU, stop.

Everything listens on 127.0.0.1 on a free port; every wait is bounded. A server is stopped by its
own process id (and its uvicorn workers die with it), never by name.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from service.cli.main import event_loop

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    started_s: float = 0.0  # process start to a 200 from /health/ready
    rss_start_mb: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The server process and its worker processes (children)."""
        return [self.process.pid, *children(self.process.pid)]

    def rss_mb(self) -> float:
        return round(sum(rss_kb(pid) for pid in self.pids()) / 1024, 1)

    def worker_cpu(self) -> dict[int, float]:
        """CPU seconds per worker process (the server itself when it has no workers)."""
        kids = children(self.process.pid)
        return {pid: cpu_seconds(pid) for pid in (kids or [self.process.pid])}

    def settled_cpu(self, timeout: float = 15.0) -> float:
        """Total worker CPU seconds once the workers stop spending any (requests a load
        generator abandoned at its deadline still finish); bounded by `timeout`."""
        deadline = time.perf_counter() + timeout
        last = sum(self.worker_cpu().values())
        while time.perf_counter() < deadline:
            time.sleep(0.1)
            now = sum(self.worker_cpu().values())
            if now - last < 0.005:
                return now
            last = now
        return last

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def start(
    name: str,
    command: list[str],
    env: dict[str, str],
    port: int,
    logdir: Path,
    timeout: float,
    started_lines: int = 0,
) -> Server:
    """Start a server; ready when /health/ready answers 200 and, if `started_lines`, when its log
    holds that many `"event":"started"` lines (one per worker: the first ready worker answers
    /health/ready while the others may still be loading)."""
    log = logdir / f"{name}.log"
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(name, process, port, log)
    deadline = started + timeout
    with httpx.Client(timeout=1.0) as client:
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited: {log.read_text()[-2000:]}")
            try:
                ready = client.get(f"{server.base}/health/ready").status_code == 200
                if ready and log.read_text().count('"event":"started"') >= started_lines:
                    server.started_s = round(time.perf_counter() - started, 3)
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.01)
        else:
            server.stop()
            raise RuntimeError(f"{name} not ready within {timeout} s: {log.read_text()[-2000:]}")
    time.sleep(0.3)  # let every worker finish its start-up before RSS is read
    server.rss_start_mb = server.rss_mb()
    return server


def service(
    workers: int,
    logdir: Path,
    data_dir: Path,
    extra_env: dict[str, str],
) -> Server:
    """`ms-backpain-cds serve` with the benchmark's settings."""
    port = free_port()
    env = {
        "MSCDS_AUTH": "off",
        "MSCDS_DATA_DIR": str(data_dir),
        "MSCDS_DATABASE_URL": "",
        # A 5,000-resource prefetch is ~6.4 MB, above the 5 MB default body limit.
        "MSCDS_MAX_BODY_BYTES": str(64 * 1024 * 1024),
        **extra_env,
    }
    command = [str(ROOT / ".venv/bin/ms-backpain-cds"), "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers)]
    return start(f"service-w{workers}", command, env, port, logdir, 60, started_lines=workers)


def uvicorn_app(name: str, app: str, workers: int, logdir: Path, env: dict[str, str]) -> Server:
    """A bench app (`floor:app`, `slow_fhir:app`) under the same uvicorn options as the service."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--app-dir", str(BENCH)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    # the service's own uvicorn options (service/cli/main.py), event loop included
    command += ["--loop", event_loop(workers), "--no-access-log", "--no-server-header"]
    command += ["--log-level", "warning"]
    return start(name, command, env, port, logdir, timeout=60)
