"""A local cluster: three `ms-backpain-cds serve` replicas behind HAProxy, sharing PostgreSQL and
Redis, with JWT authentication on, as `deploy/haproxy/haproxy.cfg` and docs/deploy.md describe.

Everything listens on 127.0.0.1. The cluster gets a PostgreSQL role and schema of its own in the
machine's database (dropped at the end), a private `redis-server` it may stop, and a TCP proxy in
front of PostgreSQL that it may cut: the machine's own servers are never stopped. Every process is
started in its own session and stopped by its own id; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CFG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
SERVE = [str(ROOT / ".venv" / "bin" / "ms-backpain-cds"), "serve"]
PG_HOST, PG_PORT, PG_DB = "127.0.0.1", 5432, "test"
PG_ADMIN = os.environ.get(
    "MSCDS_TEST_POSTGRES_URL", f"postgresql://postgres@{PG_HOST}:{PG_PORT}/test"
)
SHARED_REDIS = ("127.0.0.1", 6379)
BASE = "https://cds.cluster.invalid"  # MSCDS_PUBLIC_BASE_URL: each token's aud starts with it
ISS = "https://ehr.cluster.invalid/auth"
KID = "cluster-1"
PATIENT_VIEW = "/cds-services/ms-back-pain-patient-view"
FEEDBACK = PATIENT_VIEW + "/feedback"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def missing() -> str | None:
    """Why the cluster cannot run on this machine, or None."""
    if shutil.which("haproxy") is None:
        return "haproxy is not installed (Debian: apt-get install -y haproxy)"
    if shutil.which("redis-server") is None:
        return "redis-server is not installed (Debian: apt-get install -y redis-server)"
    if not reachable(PG_HOST, PG_PORT):
        return f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}"
    if not (ROOT / ".venv" / "bin" / "ms-backpain-cds").exists():
        return "the project is not installed in .venv (bash scripts/test installs it)"
    return None


def wait_until(what: str, check: Any, timeout_s: float, every_s: float = 0.05) -> float:
    """Poll `check()` until true; returns the seconds it took, raises after `timeout_s`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if check():
            return time.monotonic() - started
        time.sleep(every_s)
    raise TimeoutError(f"{what}: not within {timeout_s} s")


def proc_rss_kb(pid: int, field: str = "VmRSS") -> int:
    """Resident memory now (VmRSS), or its high-water mark since the start (VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Issuer:
    """The EHR: an ES384 key whose public half the replicas read from a JWK Set file."""

    def __init__(self, workdir: Path) -> None:
        self._key = ec.generate_private_key(ec.SECP384R1())
        public = ECAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        self.jwks_file = workdir / "issuer.jwks.json"
        self.jwks_file.write_bytes(
            orjson.dumps({"keys": [{**public, "kid": KID, "use": "sig", "alg": "ES384"}]})
        )

    def trusted_issuers(self) -> str:
        """MSCDS_TRUSTED_ISSUERS for the replicas."""
        entry = {"iss": ISS, "jwks_file": str(self.jwks_file), "algorithms": ["ES384"]}
        return orjson.dumps([entry]).decode()

    def token(self, path: str = PATIENT_VIEW) -> str:
        """A fresh token (its own jti) for one call to `path`."""
        now = int(time.time())
        claims = {"iss": ISS, "aud": BASE + path, "iat": now, "exp": now + 300}
        claims["jti"] = str(uuid.uuid4())
        return jwt.encode(claims, self._key, algorithm="ES384", headers={"kid": KID})

    def headers(self, path: str = PATIENT_VIEW) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(path)}"}


class Database:
    """A role and a schema of the same name in the machine's PostgreSQL: the replicas connect as
    the role and create their tables in the schema, away from every other test's rows."""

    def __init__(self) -> None:
        self.role = f"mscds_cluster_{uuid.uuid4().hex[:12]}"

    async def _admin(self, *statements: str) -> list[Any]:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return [await conn.fetch(s) for s in statements]
        finally:
            await conn.close()

    def create(self) -> None:
        role = self.role
        asyncio.run(
            self._admin(
                f"CREATE ROLE {role} LOGIN",
                f"CREATE SCHEMA {role} AUTHORIZATION {role}",
                f"ALTER ROLE {role} SET search_path = {role}",
            )
        )

    def url(self, port: int) -> str:
        return f"postgresql://{self.role}@{PG_HOST}:{port}/{PG_DB}"

    def count(self, sql: str) -> int:
        """One number from a query on the cluster's schema (qualify tables with `{schema}`)."""
        rows = asyncio.run(self._admin(sql.format(schema=self.role)))[0]
        return int(rows[0][0])

    def drop(self) -> None:
        role = self.role
        asyncio.run(
            self._admin(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'",
                f"DROP SCHEMA IF EXISTS {role} CASCADE",
                f"DROP ROLE IF EXISTS {role}",
            )
        )


class TcpProxy:
    """A TCP proxy in front of PostgreSQL on a port of its own, in a thread with its own event
    loop. `cut()` closes the listener and every open connection (PostgreSQL as good as stopped);
    `restore()` listens again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> TcpProxy:
        self._thread.start()
        self.restore()
        return self

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def cut(self) -> None:
        self._call(self._close())

    def restore(self) -> None:
        self._call(self._listen())

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


@dataclass
class Process:
    """A server process the cluster started: its command, log and id."""

    name: str
    command: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def send(self, signum: int) -> None:
        if self.running():
            assert self.process is not None
            self.process.send_signal(signum)

    def wait(self, timeout_s: float) -> int | None:
        """The exit code; a process still running after `timeout_s` is killed."""
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=5)

    def stop(self, signum: int = signal.SIGTERM, timeout_s: float = 40.0) -> int | None:
        self.send(signum)
        return self.wait(timeout_s)

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Replica(Process):
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health/ready", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout_s: float = 60.0) -> float:
        def check() -> bool:
            if not self.running():
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            return self.ready()

        return wait_until(f"{self.name} ready", check, timeout_s)

    def rss_mb(self) -> float:
        return round(proc_rss_kb(self.pid) / 1024, 1)

    def peak_rss_mb(self) -> float:
        return round(proc_rss_kb(self.pid, "VmHWM") / 1024, 1)

    def cpu_s(self) -> float:
        return proc_cpu_s(self.pid)


class HAProxy(Process):
    """HAProxy with deploy/haproxy/haproxy.cfg as shipped; addresses come from the environment."""

    def __init__(self, workdir: Path, replicas: list[Replica]) -> None:
        self.port = free_port()
        self.stats_port = free_port()
        env = {
            "CDS_BIND": f"127.0.0.1:{self.port}",
            "CDS_STATS_BIND": f"127.0.0.1:{self.stats_port}",
            **{f"CDS_REPLICA_{i + 1}": f"127.0.0.1:{r.port}" for i, r in enumerate(replicas)},
        }
        command = ["haproxy", "-db", "-f", str(HAPROXY_CFG)]
        super().__init__("haproxy", command, workdir / "haproxy.log", env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def servers(self, backend: str = "replicas") -> dict[str, str]:
        """Server name -> HAProxy's view of it (UP, DOWN, 'UP 1/2'...) in `backend`."""
        text = httpx.get(f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=2).text
        rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
        return {
            r["svname"]: r["status"]
            for r in rows
            if r["pxname"] == backend and r["svname"] not in ("FRONTEND", "BACKEND")
        }

    def wait_status(self, server: str, status: str, timeout_s: float = 30.0) -> float:
        def check() -> bool:
            try:
                return self.servers().get(server) == status
            except httpx.HTTPError:
                return False

        return wait_until(f"haproxy: {server} {status}", check, timeout_s)


class Redis(Process):
    """A private redis-server that keeps nothing on disk, so the cluster may stop it."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(workdir)]
        super().__init__("redis", command, workdir / "redis.log")

    def start(self) -> Redis:
        super().start()
        wait_until("redis listening", lambda: reachable("127.0.0.1", self.port), 10)
        return self
