"""Steady load for the cluster: a few clients, each sending patient-view calls one after another,
every call with a fresh JWT, until told to stop (bounded by a number of calls as well)."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from tests.cluster.harness import FEEDBACK, PATIENT_VIEW, Issuer
from tests.service.governance_helpers import sample_request

SAMPLE = "ms-opioid-benzo"  # cards of each hideable indicator: first-line (info), opioid-active
MAX_CALLS_PER_CLIENT = 20_000


def patient_view(patient: str | None = None) -> dict[str, Any]:
    """A patient-view call with the sample chart as prefetch; a patient id of its own (card
    uuids include it) keeps one scenario's cards and feedback apart from another's."""
    return sample_request(SAMPLE, patient_id=patient or f"cluster-{uuid.uuid4().hex[:12]}")


def call(
    base: str, issuer: Issuer, body: dict[str, Any], path: str = PATIENT_VIEW, token: str = ""
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token or issuer.token(path)}"}
    return httpx.post(base + path, content=orjson.dumps(body), headers=headers, timeout=30)


def cards(base: str, issuer: Issuer, body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Card kind -> card from one patient-view call through `base`."""
    response = call(base, issuer, {**body, "hookInstance": str(uuid.uuid4())})
    assert response.status_code == 200, (response.status_code, response.text[:300])
    return {c["source"]["topic"]["code"]: c for c in response.json()["cards"]}


def feedback(base: str, issuer: Issuer, *items: dict[str, Any]) -> httpx.Response:
    return call(base, issuer, {"feedback": list(items)}, FEEDBACK)


@dataclass(frozen=True, slots=True)
class Call:
    at: float  # monotonic time the call was sent
    ms: float
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    cards: int
    problem: str = ""  # the OperationOutcome's diagnostics, or the transport error


async def _client(
    base: str, issuer: Issuer, body: dict[str, Any], stop: asyncio.Event, out: list[Call]
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for _ in range(MAX_CALLS_PER_CLIENT):
            if stop.is_set():
                return
            content = orjson.dumps({**body, "hookInstance": str(uuid.uuid4())})
            headers = {"Authorization": f"Bearer {issuer.token()}"}
            started = time.monotonic()
            try:
                response = await client.post(PATIENT_VIEW, content=content, headers=headers)
            except httpx.HTTPError as exc:
                out.append(Call(started, _ms(started), 0, 0, type(exc).__name__))
                continue
            answer = _json(response)
            problem = "" if response.status_code == 200 else diagnostics(response)
            cards = answer.get("cards") if isinstance(answer, dict) else None
            out.append(Call(started, _ms(started), response.status_code, len(cards or []), problem))


def _json(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None  # not the service's answer (HAProxy's own error page, say)


def diagnostics(response: httpx.Response) -> str:
    """What an error answer says: the OperationOutcome's diagnostics, else the start of it."""
    answer = _json(response)
    if isinstance(answer, dict) and answer.get("resourceType") == "OperationOutcome":
        return str(answer["issue"][0].get("diagnostics", ""))
    return "not an OperationOutcome: " + response.text[:60]


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


async def steady_load(
    base: str,
    issuer: Issuer,
    stop: asyncio.Event,
    *,
    clients: int = 4,
    body: dict[str, Any] | None = None,
) -> list[Call]:
    """Patient-view calls from `clients` clients until `stop` is set; every call recorded."""
    body = body or patient_view()
    calls: list[Call] = []
    await asyncio.gather(*(_client(base, issuer, body, stop, calls) for _ in range(clients)))
    return sorted(calls, key=lambda c: c.at)


@dataclass(frozen=True)
class Summary:
    calls: int
    failed: int  # anything but 200 with cards
    statuses: dict[int, int]
    p50_ms: float
    p99_ms: float
    max_ms: float
    problems: dict[str, int]

    def line(self) -> str:
        return (
            f"{self.calls} calls, {self.failed} failed, p50 {self.p50_ms:.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms, statuses {self.statuses}"
        )


def summarise(calls: list[Call]) -> Summary:
    latencies = sorted(c.ms for c in calls) or [0.0]
    failed = [c for c in calls if c.status != 200 or c.cards == 0]
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else latencies[0]
    return Summary(
        calls=len(calls),
        failed=len(failed),
        statuses=dict(sorted(Counter(c.status for c in calls).items())),
        p50_ms=round(statistics.median(latencies), 1),
        p99_ms=round(p99, 1),
        max_ms=round(latencies[-1], 1),
        problems=dict(Counter(f"{c.status} {c.problem}" for c in failed).most_common(5)),
    )
