"""A large hook call is evaluated off the event loop: `/health` is answered while it runs.

The app is the real one, in process (httpx ASGITransport, its lifespan run). `pipeline.evaluate`
is wrapped so that it blocks on a threading.Event until the test lets it go: were the evaluation
run on the event loop, `/health` could not be answered until it ended. The ordering of events is
asserted, never a duration.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
import httpx
import orjson
import pytest

from service import pipeline
from service.config import Settings
from service.discovery import SERVICES
from service.http.app import create_app
from tests.service.builders import (
    LOW_BACK_PAIN,
    MS,
    SNOMED,
    condition,
    full_prefetch,
    hook_request,
)

PV = "/cds-services/ms-back-pain-patient-view"
HELD_FOR_AT_MOST_S = 30  # only when the evaluation wrongly holds the loop: then the test fails


def _large_body() -> bytes:
    """A patient-view call above `OFFLOAD_ABOVE_BYTES`: MS, back pain and many other problems."""
    others = [
        condition(f"c-other-{i}", SNOMED, "38341003", "Hypertensive disorder", 400)
        for i in range(600)
    ]
    body = orjson.dumps(hook_request(prefetch=full_prefetch(MS, LOW_BACK_PAIN, *others)))
    assert len(body) > pipeline.OFFLOAD_ABOVE_BYTES
    return body


class _HeldEvaluation:
    """`pipeline.evaluate`, held until `release` is set; records what happened meanwhile."""

    def __init__(self, evaluate: Callable[..., Any]) -> None:
        self.evaluate = evaluate
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.started.set()
        self.release.wait(HELD_FOR_AT_MOST_S)
        try:
            return self.evaluate(*args, **kwargs)
        finally:
            self.finished.set()


async def _during_held_call(
    settings: Settings, held: _HeldEvaluation, body: bytes, path: str
) -> tuple[httpx.Response, httpx.Response, bool]:
    """(the hook's response, the response to GET `path` sent while the hook was being
    evaluated, whether that response came before the evaluation ended)."""
    app = create_app(settings)
    responses: dict[str, httpx.Response] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cds.test") as client:

            async def call_hook() -> None:
                headers = {"Content-Type": "application/json"}
                responses["hook"] = await client.post(PV, content=body, headers=headers)

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(call_hook)
                await anyio.to_thread.run_sync(held.started.wait, HELD_FOR_AT_MOST_S)
                other = await client.get(path)
                before_the_end = not held.finished.is_set()
                held.release.set()
    return responses["hook"], other, before_the_end


async def test_health_is_answered_while_a_large_call_is_evaluated(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = _HeldEvaluation(pipeline.evaluate)
    monkeypatch.setattr(pipeline, "evaluate", held)

    hook, health, before_the_end = await _during_held_call(settings, held, _large_body(), "/health")

    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert before_the_end, "/health waited for the evaluation: it ran on the event loop"
    assert held.finished.is_set()
    assert hook.status_code == 200
    assert hook.json()["cards"], "the held call was answered with its cards"


async def test_a_small_call_is_answered_while_a_large_one_is_evaluated(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = _HeldEvaluation(pipeline.evaluate)
    monkeypatch.setattr(pipeline, "evaluate", held)
    app = create_app(settings)
    small = orjson.dumps(hook_request(prefetch=full_prefetch(MS, LOW_BACK_PAIN)))
    assert len(small) <= pipeline.OFFLOAD_ABOVE_BYTES
    answers: dict[str, httpx.Response] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cds.test") as client:
            headers = {"Content-Type": "application/json"}

            async def call(name: str, body: bytes) -> None:
                answers[name] = await client.post(PV, content=body, headers=headers)

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(call, "large", _large_body())
                await anyio.to_thread.run_sync(held.started.wait, HELD_FOR_AT_MOST_S)
                # The small call is evaluated in place, by the same (held) function: let it
                # through, and hold the large one only.
                monkeypatch.setattr(pipeline, "evaluate", held.evaluate)
                await call("small", small)
                small_before_the_end = not held.finished.is_set()
                held.release.set()

    assert small_before_the_end
    assert answers["small"].status_code == 200
    assert answers["small"].json()["cards"]
    assert answers["large"].status_code == 200
    assert answers["large"].json()["cards"]


def test_a_call_driven_without_an_event_loop_is_evaluated_in_place() -> None:
    """bench/identical.py completes `answer` by hand, with no event loop: it never suspends."""
    service = SERVICES["ms-back-pain-patient-view"]
    coroutine = pipeline.answer(service, _large_body(), None, log={}, offline=True)
    with pytest.raises(StopIteration) as done:
        coroutine.send(None)
    assert done.value.value, "cards, evaluated in place"
