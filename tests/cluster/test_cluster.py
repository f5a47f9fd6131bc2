"""Three replicas behind HAProxy, sharing PostgreSQL and Redis, with JWT authentication on
(tests/cluster/harness.py): what a scaled-out deployment promises, checked on real processes.

Skipped when haproxy or redis-server is not installed or PostgreSQL is not reachable. The
figures (calls, failures, latency during the rolling restart...) are printed at the end of the
run; `scripts/cluster` prints the same on its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster import scenarios
from tests.cluster.cluster import Cluster
from tests.cluster.conftest import FIGURES
from tests.cluster.harness import missing

REASON = missing()
pytestmark = [pytest.mark.cluster, pytest.mark.skipif(REASON is not None, reason=REASON or "")]

AUTH_DOWN = "authentication temporarily unavailable; retry later"
STORE_DOWN = "feedback store unavailable; retry later"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with Cluster(tmp_path_factory.mktemp("cluster")) as running:
        if running.startup_exits:
            FIGURES.append(f"exited at the first start, started again: {running.startup_exits}")
        yield running


def test_a_jwt_replayed_to_another_replica_is_refused(cluster: Cluster) -> None:
    replay = scenarios.replay_across(cluster)
    FIGURES.extend(replay.lines())
    assert replay.first == 200
    assert replay.replayed == {"r2": 401, "r3": 401, "haproxy": 401}


def test_feedback_sent_through_every_replica_is_stored_once(cluster: Cluster) -> None:
    sent = scenarios.feedback_once(cluster)
    FIGURES.extend(sent.lines())
    assert sent.answers == {"r1": (200, 1), "r2": (200, 0), "r3": (200, 0)}
    assert sent.rows == 1


def test_an_override_through_one_replica_hides_the_card_on_every_replica(
    cluster: Cluster,
) -> None:
    seen = scenarios.suppression_shared(cluster)  # a bounded wait for each replica
    FIGURES.extend(seen.lines())
    assert seen.override == 200
    assert set(seen.hidden_after_s) == {"r1", "r2", "r3"}


def test_a_rolling_restart_under_load_fails_no_call(cluster: Cluster) -> None:
    restart = scenarios.rolling_restart(cluster)
    FIGURES.extend(restart.lines())
    assert [r.replica for r in restart.restarts] == ["r1", "r2", "r3"]
    assert all(r.exit_code in (0, -15) for r in restart.restarts), restart.restarts
    assert restart.during.calls >= 100  # the load really ran through the restarts
    assert all(n > 0 for n in restart.per_replica.values()), restart.per_replica
    assert restart.overall.failed == 0, restart.overall.problems


def test_redis_down_fails_closed_with_503_then_recovers(cluster: Cluster) -> None:
    outage = scenarios.redis_outage(cluster)
    FIGURES.extend(outage.lines())
    assert outage.hooks == {f"503 {AUTH_DOWN}": scenarios.OUTAGE_CALLS}
    assert outage.feedback == (503, AUTH_DOWN)
    assert outage.direct == {"r1": 503, "r2": 503, "r3": 503}
    burst = {"200": scenarios.BURST}
    assert outage.after == {
        "hook": 200,
        "feedback": 200,
        "first burst": burst,
        "second burst": burst,
    }


def test_postgres_down_hooks_answer_feedback_503_not_ready(cluster: Cluster) -> None:
    outage = scenarios.postgres_outage(cluster)  # waits until no replica is ready
    FIGURES.extend(outage.lines())
    [(answer, count)] = outage.hooks.items()
    assert answer.startswith("200 with ") and not answer.startswith("200 with 0 ")
    assert count == scenarios.OUTAGE_CALLS
    assert outage.feedback == (503, STORE_DOWN)
    assert outage.direct == {"r1": 200, "r2": 200, "r3": 200}
    assert outage.after == {"hook": 200, "feedback": 200, "rows": 1}
