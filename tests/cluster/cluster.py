"""The cluster as one object: start it, restart a replica, stop it all (tests/cluster/harness.py).

with Cluster(workdir) as cluster:
    cluster.haproxy.url     # the load balancer
    cluster.replicas[0].url # one replica, directly
"""

from __future__ import annotations

import contextlib
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from tests.cluster.harness import (
    BASE,
    PG_HOST,
    PG_PORT,
    SERVE,
    Database,
    HAProxy,
    Issuer,
    Redis,
    Replica,
    TcpProxy,
    free_port,
)

REPLICAS = 3
SERVER_NAMES = [f"r{i + 1}" for i in range(REPLICAS)]  # as in deploy/haproxy/haproxy.cfg


@dataclass(frozen=True)
class Restart:
    """One replica's turn in a rolling restart, in seconds from its SIGTERM."""

    replica: str
    haproxy_down_s: float  # HAProxy marked it down (its readiness turned 503)
    exited_s: float  # the old process exited (drain delay, then in-flight calls)
    ready_s: float  # the new process answered /health/ready 200
    haproxy_up_s: float  # HAProxy sends it traffic again
    exit_code: int | None


class Cluster:
    def __init__(self, workdir: Path, env: dict[str, str] | None = None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.database = Database()
        self.postgres = TcpProxy((PG_HOST, PG_PORT))
        self.redis = Redis(workdir)
        self.issuer = Issuer(workdir)
        self.extra_env = env or {}
        self.replicas = [
            Replica(name, SERVE, workdir / f"{name}.log", port=free_port()) for name in SERVER_NAMES
        ]
        self.haproxy = HAProxy(workdir, self.replicas)
        self.startup_exits: list[str] = []  # replicas that exited at the first start

    def replica_env(self, replica: Replica) -> dict[str, str]:
        """A replica's settings: what a production replica sets, on loopback ports."""
        return {
            "MSCDS_HOST": "127.0.0.1",
            "MSCDS_PORT": str(replica.port),
            "MSCDS_AUTH": "jwt",
            "MSCDS_PUBLIC_BASE_URL": BASE,
            "MSCDS_TRUSTED_ISSUERS": self.issuer.trusted_issuers(),
            "MSCDS_DATABASE_URL": self.database.url(self.postgres.port),
            "MSCDS_REDIS_URL": f"redis://127.0.0.1:{self.redis.port}/0",
            "MSCDS_DATA_DIR": str(self.workdir / f"{replica.name}-data"),  # unused: PostgreSQL
            "MSCDS_LOG_LEVEL": "INFO",
            **self.extra_env,
        }

    def start(self) -> Cluster:
        try:
            self.database.create()
            self.postgres.start()
            self.redis.start()
            for replica in self.replicas:  # all at once, as a Deployment starts its pods
                replica.env = self.replica_env(replica)
                replica.start()
            for replica in self.replicas:
                self._wait_started(replica)
            self.haproxy.start()
            for name in SERVER_NAMES:
                self.haproxy.wait_status(name, "UP")
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_started(self, replica: Replica) -> None:
        """Wait until ready; a replica that exits at start-up is started once more, as the
        kubelet would restart its container, and counted in `startup_exits`."""
        try:
            replica.wait_ready()
        except RuntimeError:
            if replica.running():
                raise
            self.startup_exits.append(replica.name)
            replica.start()
            replica.wait_ready()

    def restart(self, index: int) -> Restart:
        """SIGTERM one replica, wait for it to exit, start it again, wait until HAProxy sends
        it traffic: one step of a rolling restart."""
        replica = self.replicas[index]
        started = time.monotonic()
        replica.send(signal.SIGTERM)
        self.haproxy.wait_status(replica.name, "DOWN", timeout_s=30)
        down = time.monotonic() - started
        code = replica.wait(timeout_s=60)
        exited = time.monotonic() - started
        replica.start()
        replica.wait_ready()
        ready = time.monotonic() - started
        self.haproxy.wait_status(replica.name, "UP", timeout_s=30)
        up = time.monotonic() - started
        return Restart(replica.name, down, exited, ready, up, code)

    def rss_mb(self) -> dict[str, float]:
        return {r.name: r.rss_mb() for r in self.replicas}

    def peak_rss_mb(self) -> dict[str, float]:
        return {r.name: r.peak_rss_mb() for r in self.replicas}

    def cpu_s(self) -> float:
        return sum(r.cpu_s() for r in self.replicas)

    def stop(self) -> None:
        """Everything this cluster started, by process id, then its schema and role."""
        for process in (self.haproxy, *self.replicas, self.redis):
            with contextlib.suppress(Exception):  # clean up the rest regardless
                process.stop(timeout_s=20)
        with contextlib.suppress(Exception):
            self.postgres.stop()
        self.database.drop()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
