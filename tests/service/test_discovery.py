"""Discovery: one service per hook, prefetch templates inside the STU2 rules."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from fastapi.testclient import TestClient

# STU2: tokens are root-level primitive context fields or the four user identifiers.
ALLOWED_TOKENS = {
    "context.patientId",
    "context.userId",
    "context.encounterId",
    "userPractitionerId",
    "userPractitionerRoleId",
    "userPatientId",
    "userRelatedPersonId",
}
# The recommended query subset: references, token equality, _count, _sort.
ALLOWED_PARAMS = {"patient", "status", "clinical-status", "code", "_count", "_sort"}


def test_discovery_lists_one_service_per_hook(client: TestClient) -> None:
    response = client.get("/cds-services")
    assert response.status_code == 200
    services = response.json()["services"]
    assert sorted(s["hook"] for s in services) == ["order-select", "order-sign", "patient-view"]
    assert len({s["id"] for s in services}) == 3
    for service in services:
        assert service["title"] and service["description"]
        assert set(service) <= {
            "hook",
            "id",
            "title",
            "description",
            "prefetch",
            "usageRequirements",
        }


def test_prefetch_templates_use_only_stu2_tokens_and_queries(client: TestClient) -> None:
    for service in client.get("/cds-services").json()["services"]:
        keys = set(service["prefetch"])
        assert {"patient", "conditions", "medicationRequests", "egfr"} <= keys
        for template in service["prefetch"].values():
            tokens = set(re.findall(r"\{\{\s*([^}]+?)\s*\}\}", template))
            assert tokens and tokens <= ALLOWED_TOKENS, template
            path, _, query = template.partition("?")
            assert re.fullmatch(r"[A-Z][A-Za-z]+(/\{\{context\.patientId\}\})?", path), template
            for name, value in parse_qsl(query):
                assert name in ALLOWED_PARAMS, (template, name)
                assert value


def test_medication_and_observation_searches_are_narrow(client: TestClient) -> None:
    prefetch = client.get("/cds-services").json()["services"][0]["prefetch"]
    assert "status=active,on-hold" in prefetch["medicationRequests"]
    assert "status=active,intended" in prefetch["medicationStatements"]
    assert "http://loinc.org|98979-8" in prefetch["egfr"]
    assert "http://loinc.org|72514-3" in prefetch["painScores"]
