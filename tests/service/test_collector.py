"""The collector as the serving process sets it: what start-up made is kept out of collections,
and a young collection waits for `GC_YOUNG_THRESHOLD` container allocations."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service import collector
from service.config import Settings
from service.http.app import create_app


@pytest.fixture
def restored() -> Iterator[None]:
    """The test process's collector as it was, afterwards."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_settle_freezes_what_is_alive_and_raises_the_threshold(restored: None) -> None:
    kept = [object() for _ in range(10)]
    collector.settle()
    assert gc.get_threshold() == (collector.GC_YOUNG_THRESHOLD, 10, 10)
    assert gc.get_freeze_count() >= len(kept)


def test_the_service_settles_the_collector_once_started(restored: None, settings: Settings) -> None:
    gc.set_threshold(700, 10, 10)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
        assert gc.get_threshold()[0] == collector.GC_YOUNG_THRESHOLD
