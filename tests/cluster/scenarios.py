"""What the cluster test measures, one function per property; each returns its figures.

The pytest (tests/cluster/test_cluster.py) asserts on them; `scripts/cluster` prints them.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from tests.cluster.cluster import Cluster, Restart
from tests.cluster.harness import PATIENT_VIEW, wait_until
from tests.cluster.load import (
    Call,
    Summary,
    call,
    cards,
    diagnostics,
    feedback,
    patient_view,
    steady_load,
    summarise,
)
from tests.service.governance_helpers import feedback_item

INFO_KIND = "first-line"  # an info card on the sample chart (tests/cluster/load.py)
OUTAGE_CALLS = 30  # hook calls through HAProxy while a shared store is down
BURST = 24  # hook calls at once, after a store came back: 8 per replica


@dataclass
class RollingRestart:
    overall: Summary
    during: Summary  # calls sent from the first SIGTERM until the last replica was back
    restarts: list[Restart]
    retries: int  # HAProxy's retries and redispatches (connection refused by a stopped replica)
    per_replica: dict[str, int]  # calls HAProxy sent each replica

    def lines(self) -> list[str]:
        out = [f"rolling restart, whole run: {self.overall.line()}"]
        out.append(f"rolling restart, during the restarts: {self.during.line()}")
        for r in self.restarts:
            out.append(
                f"  {r.replica}: HAProxy down {r.haproxy_down_s:.2f} s after SIGTERM, exited "
                f"{r.exited_s:.2f} s, ready {r.ready_s:.2f} s, "
                f"back in HAProxy {r.haproxy_up_s:.2f} s"
            )
        out.append(f"  HAProxy retries/redispatches: {self.retries}; calls per replica: ")
        out[-1] += ", ".join(f"{k} {v}" for k, v in self.per_replica.items())
        return out


def _haproxy_counters(cluster: Cluster) -> dict[str, dict[str, str]]:
    import csv
    import io

    text = httpx.get(f"http://127.0.0.1:{cluster.haproxy.stats_port}/stats;csv", timeout=2).text
    return {
        f"{r['pxname']}/{r['svname']}": r
        for r in csv.DictReader(io.StringIO(text.lstrip("# ")))
        if r["pxname"] in ("replicas", "live")
    }


def rolling_restart(cluster: Cluster, *, clients: int = 4, settle_s: float = 1.5) -> RollingRestart:
    """SIGTERM each replica in turn, start it again, wait until HAProxy sends it calls, under
    steady load through HAProxy."""
    before = _haproxy_counters(cluster)

    async def run() -> tuple[list[Call], list[Restart], float, float]:
        stop = asyncio.Event()
        load = asyncio.create_task(steady_load(cluster.haproxy.url, cluster.issuer, stop))
        await asyncio.sleep(settle_s)
        started = time.monotonic()
        restarts = [await asyncio.to_thread(cluster.restart, i) for i in range(3)]
        ended = time.monotonic()
        await asyncio.sleep(settle_s)
        stop.set()
        return await load, restarts, started, ended

    calls, restarts, started, ended = asyncio.run(run())
    after = _haproxy_counters(cluster)

    def delta(key: str, column: str) -> int:
        return int(after[key][column] or 0) - int(before[key][column] or 0)

    servers = [k for k in after if k.startswith("replicas/") and not k.endswith("BACKEND")]
    retries = sum(delta(k, "wretr") + delta(k, "wredis") for k in servers)
    return RollingRestart(
        overall=summarise(calls),
        during=summarise([c for c in calls if started <= c.at <= ended]),
        restarts=restarts,
        retries=retries,
        per_replica={k.split("/")[1]: delta(k, "stot") for k in servers if "FRONTEND" not in k},
    )


@dataclass
class Replay:
    first: int  # the token's first use, on r1
    replayed: dict[str, int]  # the same token on the other replicas and through HAProxy

    def lines(self) -> list[str]:
        return [f"JWT replay: first use {self.first}, replayed: {self.replayed}"]


def replay_across(cluster: Cluster) -> Replay:
    body = patient_view()
    token = cluster.issuer.token(PATIENT_VIEW)
    first, *others = cluster.replicas
    status = call(first.url, cluster.issuer, body, token=token).status_code
    replayed = {r.name: call(r.url, cluster.issuer, body, token=token).status_code for r in others}
    replayed["haproxy"] = call(cluster.haproxy.url, cluster.issuer, body, token=token).status_code
    return Replay(status, replayed)


@dataclass
class FeedbackOnce:
    answers: dict[str, tuple[int, int]]  # replica -> (status, items stored)
    rows: int  # rows for the card in PostgreSQL

    def lines(self) -> list[str]:
        return [f"same feedback through each replica: {self.answers}; rows stored: {self.rows}"]


def feedback_once(cluster: Cluster) -> FeedbackOnce:
    card = cards(cluster.replicas[0].url, cluster.issuer, patient_view())[INFO_KIND]
    item = feedback_item(card, "accepted")
    answers = {}
    for replica in cluster.replicas:
        response = feedback(replica.url, cluster.issuer, item)
        stored = response.json().get("stored", -1) if response.status_code == 200 else -1
        answers[replica.name] = (response.status_code, stored)
    rows = cluster.database.count(
        f"SELECT count(*) FROM {{schema}}.feedback WHERE card_uuid = '{card['uuid']}'"
    )
    return FeedbackOnce(answers, rows)


@dataclass
class Suppression:
    override: int  # the override's status, sent through r2
    hidden_after_s: dict[str, float]  # replica -> seconds until the card was hidden there
    refresh_s: float

    def lines(self) -> list[str]:
        seen = ", ".join(f"{k} {v:.2f} s" for k, v in self.hidden_after_s.items())
        return [f"override via r2 hidden on: {seen} (refresh every {self.refresh_s} s)"]


def suppression_shared(cluster: Cluster, *, timeout_s: float = 15.0) -> Suppression:
    """Override the info card through r2; how long until each replica hides it."""
    from service.config import Settings

    body = patient_view()
    shown = cards(cluster.replicas[0].url, cluster.issuer, body)
    assert INFO_KIND in shown, sorted(shown)
    item = feedback_item(shown[INFO_KIND], "overridden", "already-addressed")
    sent = time.monotonic()
    status = feedback(cluster.replicas[1].url, cluster.issuer, item).status_code
    hidden: dict[str, float] = {}
    for replica in cluster.replicas:

        def gone(url: str = replica.url) -> bool:
            return INFO_KIND not in cards(url, cluster.issuer, body)

        wait_until(f"{replica.name} hides the card", gone, timeout_s, every_s=0.1)
        hidden[replica.name] = round(time.monotonic() - sent, 2)
    return Suppression(status, hidden, Settings().suppression_refresh_s)


@dataclass
class Outage:
    store: str
    not_ready_after_s: float  # until every replica's /health/ready answered 503
    hooks: dict[str, int]  # "status diagnostics" -> count, hook calls through HAProxy
    feedback: tuple[int, str]
    direct: dict[str, int]  # each replica's answer to a hook call made to it directly
    recovered_after_s: float  # from the store's return until every replica was ready again
    after: dict[str, int]  # hook and feedback statuses after recovery
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"{self.store} down: not ready on every replica after {self.not_ready_after_s:.2f} s; "
            f"hooks through HAProxy {self.hooks}; feedback {self.feedback}; "
            f"each replica directly {self.direct}",
            f"{self.store} back: every replica ready after {self.recovered_after_s:.2f} s; "
            f"then {self.after}",
            *self.notes,
        ]


def _every_replica(cluster: Cluster, ready: bool) -> bool:
    return all(r.ready() is ready for r in cluster.replicas)


def _outage_calls(cluster: Cluster, body: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    through: Counter[str] = Counter()
    for _ in range(OUTAGE_CALLS):
        response = call(cluster.haproxy.url, cluster.issuer, body)
        if response.status_code == 200:
            through[f"200 with {len(response.json()['cards'])} cards"] += 1
        else:
            through[f"{response.status_code} {diagnostics(response)}"] += 1
    direct = {r.name: call(r.url, cluster.issuer, body).status_code for r in cluster.replicas}
    return dict(through), direct


def burst(cluster: Cluster, body: dict[str, Any], n: int = BURST) -> dict[str, int]:
    """`n` hook calls at once through HAProxy: "status diagnostics" -> count."""

    async def one(client: httpx.AsyncClient) -> str:
        content = orjson.dumps({**body, "hookInstance": str(uuid.uuid4())})
        headers = cluster.issuer.headers()
        response = await client.post(PATIENT_VIEW, content=content, headers=headers)
        if response.status_code == 200:
            return "200"
        return f"{response.status_code} {diagnostics(response)}"

    async def run() -> list[str]:
        limits = httpx.Limits(max_connections=n)
        async with httpx.AsyncClient(base_url=cluster.haproxy.url, limits=limits) as client:
            return await asyncio.gather(*(one(client) for _ in range(n)))

    return dict(Counter(asyncio.run(run())))


def _after(cluster: Cluster, body: dict[str, Any], card: dict[str, Any]) -> dict[str, int]:
    hook = call(cluster.haproxy.url, cluster.issuer, body).status_code
    sent = feedback(cluster.haproxy.url, cluster.issuer, feedback_item(card, "accepted"))
    return {"hook": hook, "feedback": sent.status_code}


def redis_outage(cluster: Cluster) -> Outage:
    """The replay store's Redis crashes mid-run, then comes back on the same port (empty)."""
    body = patient_view()
    card = cards(cluster.haproxy.url, cluster.issuer, body)[INFO_KIND]
    used = cluster.issuer.token(PATIENT_VIEW)
    assert call(cluster.haproxy.url, cluster.issuer, body, token=used).status_code == 200
    burst(cluster, body)  # each replica opens a few Redis connections, as under load
    cluster.redis.stop(signal.SIGKILL)
    not_ready = wait_until("not ready", lambda: _every_replica(cluster, False), 30)
    for name in ("r1", "r2", "r3"):  # every replica out of the ready pool: the `live` backend
        cluster.haproxy.wait_status(name, "DOWN")
    hooks, direct = _outage_calls(cluster, body)
    sent = feedback(cluster.haproxy.url, cluster.issuer, feedback_item(card, "accepted"))
    cluster.redis.start()
    recovered = wait_until("ready again", lambda: _every_replica(cluster, True), 60)
    for name in ("r1", "r2", "r3"):
        cluster.haproxy.wait_status(name, "UP")
    first, second = burst(cluster, body), burst(cluster, body)
    replayed = call(cluster.haproxy.url, cluster.issuer, body, token=used).status_code
    notes = [
        f"  {BURST} calls at once right after: {first}; and again: {second}",
        f"  a token used before the crash, replayed after Redis came back empty: {replayed} "
        "(Redis kept no data: its record of that jti was lost)",
    ]
    after = {**_after(cluster, body, card), "first burst": first, "second burst": second}
    return Outage(
        "Redis",
        not_ready,
        hooks,
        (sent.status_code, diagnostics(sent)),
        direct,
        recovered,
        after,
        notes,
    )


def postgres_outage(cluster: Cluster) -> Outage:
    """PostgreSQL unreachable (its proxy cut: connections refused), then reachable again."""
    body = patient_view()
    card = cards(cluster.haproxy.url, cluster.issuer, body)[INFO_KIND]
    cluster.postgres.cut()
    not_ready = wait_until("not ready", lambda: _every_replica(cluster, False), 30)
    for name in ("r1", "r2", "r3"):  # every replica out of the ready pool: the `live` backend
        cluster.haproxy.wait_status(name, "DOWN")
    hooks, direct = _outage_calls(cluster, body)
    item = feedback_item(card, "overridden", "already-addressed")
    sent = feedback(cluster.haproxy.url, cluster.issuer, item)
    cluster.postgres.restore()
    recovered = wait_until("ready again", lambda: _every_replica(cluster, True), 60)
    for name in ("r1", "r2", "r3"):
        cluster.haproxy.wait_status(name, "UP")
    after = _after(cluster, body, card)
    rows = cluster.database.count(
        f"SELECT count(*) FROM {{schema}}.feedback WHERE card_uuid = '{card['uuid']}'"
    )
    note = f"  rows for the card after recovery: {rows} (the acceptance sent after recovery)"
    return Outage(
        "PostgreSQL",
        not_ready,
        hooks,
        (sent.status_code, diagnostics(sent)),
        direct,
        recovered,
        {**after, "rows": rows},
        [note],
    )
