"""Hook calls skip the router (service/dispatch.py); they must answer exactly as the router does."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings
from service.dispatch import hook_service_id
from tests.service.builders import LOW_BACK_PAIN, MS, full_prefetch, hook_request

PV = "/cds-services/ms-back-pain-patient-view"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (PV, "ms-back-pain-patient-view"),
        ("/cds-services/x", "x"),
        ("/cds-services/", None),
        ("/cds-services", None),
        ("/cds-services/x/feedback", None),
        ("/cds-services/x/", None),
        ("/other/cds-services/x", None),
    ],
)
def test_only_a_hook_path_is_taken(path: str, expected: str | None) -> None:
    assert hook_service_id(path) == expected


@pytest.mark.parametrize(
    "body",
    [
        hook_request(prefetch=full_prefetch(MS, LOW_BACK_PAIN)),  # cards
        hook_request(prefetch=None),  # 412: nothing to fetch from
        {"hook": "patient-view"},  # 400
    ],
)
@pytest.mark.parametrize("path", [PV, "/cds-services/no-such-service"])
def test_the_direct_way_answers_as_the_router_does(
    client: TestClient, settings: Settings, body: dict, path: str
) -> None:
    direct = client.post(path, json=body)
    # Under an ASGI root_path the call goes through the router.
    with TestClient(create_app(settings), root_path="/api") as routed_client:
        routed = routed_client.post("/api" + path, json=body)
    assert direct.status_code == routed.status_code
    assert direct.status_code in (200, 400, 404, 412)
    assert direct.json() == routed.json()
    assert direct.headers["content-type"] == routed.headers["content-type"]


def test_other_methods_on_a_hook_path_still_get_405(client: TestClient) -> None:
    response = client.get(PV)
    assert response.status_code == 405
    assert response.json()["resourceType"] == "OperationOutcome"
