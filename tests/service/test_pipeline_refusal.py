"""A call refused part way (over its free-text budget) in a worker thread leaves nothing of
itself behind: no reference cycle keeps its resources until the collector's oldest generation
runs, which, with the service's collector settings, let refused calls grow the process."""

from __future__ import annotations

import asyncio
import gc
import threading

import orjson
import pytest

from service import pipeline
from service.discovery import SERVICES
from service.fhir.prefetch import Resolved
from service.http.errors import HTTPProblem
from tests.service.builders import LOW_BACK_PAIN, MS, bundle, full_prefetch, hook_request
from tests.service.http.test_text_budget import uncoded

PATIENT_VIEW = SERVICES["ms-back-pain-patient-view"]


def test_a_refused_offloaded_call_keeps_nothing_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mappings.text_budget.MAX_SCANNED_CHARS", 20_000)
    prefetch = full_prefetch(MS, LOW_BACK_PAIN)
    prefetch["conditions"] = bundle(MS, LOW_BACK_PAIN, *(uncoded(i) for i in range(40)))
    body = orjson.dumps(hook_request(prefetch=prefetch))
    assert len(body) > pipeline.OFFLOAD_ABOVE_BYTES  # evaluated in a worker thread

    async def call() -> int:
        try:
            await pipeline.answer(PATIENT_VIEW, body, None, log={}, offline=True)
        except HTTPProblem as refused:
            return refused.status
        return 200

    before = set(threading.enumerate())
    gc.collect()
    gc.disable()  # what only the collector would free counts as kept
    try:
        assert asyncio.run(call()) == 413
        # The loop's worker threads are told to stop as it closes, not waited for: until one
        # has finished, its own locals may still hold the job it just ran.
        for thread in set(threading.enumerate()) - before:
            thread.join(timeout=10)
        kept = sum(isinstance(o, Resolved) for o in gc.get_objects())
    finally:
        gc.enable()
    assert kept == 0
