"""Real-shaped charts nobody here wrote: Synthea patients (tests/fixtures/synthea/README.md).

Synthea does not model multiple sclerosis, so as they are these charts must earn no card at all.
With an MS Condition and acute low back pain added, the cards must respect the rest of the chart:
its anticoagulants, age, NSAIDs, epilepsy, cancer. Which chart has which property is read from
the FHIR data here (an active warfarin request, an active epilepsy Condition, the birth date), not
from the service's own classification, and the assertions are on card kinds and proposed RxNorm
codes, not wording.

Dates are moved as scripts/synthea_check.py moves them: every date by the same number of days, so
that the chart's last date of care (the Bundle's `timestamp` in these trimmed copies) is today.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from cards import cards_for
from cards.model import Card
from mappings import classify, classify_orders
from tests.cards.builders import check

FIXTURES = Path(__file__).parents[1] / "fixtures" / "synthea"
CHARTS = sorted(FIXTURES.glob("*.json.gz"))
Chart = list[dict[str, Any]]
TODAY = date.today()
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
IBUPROFEN_400, TIZANIDINE_4 = "197805", "313413"
BILLING = frozenset({"Claim", "ExplanationOfBenefit"})
DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(T[0-9:.]+(Z|[+-]\d\d:\d\d)?)?$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

# Clinical facts, by the words of a drug's display or a Condition's SNOMED code.
ANTICOAGULANTS = ("warfarin", "apixaban", "rivaroxaban", "dabigatran", "edoxaban", "heparin")
ANTIPLATELETS = ("clopidogrel", "prasugrel", "ticagrelor", "ticlopidine")
ANTICONVULSANTS = ("carbamazepine", "oxcarbazepine", "lamotrigine", "levetiracetam", "phenytoin")
ANTICONVULSANTS += ("valpro", "topiramate", "lacosamide")
NSAIDS = "ibuprofen|naproxen|diclofenac|meloxicam|celecoxib|ketorolac|indomethacin"
OPIOIDS = ("codone", "morphine", "fentanyl", "meperidine", "tramadol", "tapentadol", "codeine")
EPILEPSY = frozenset({"84757009", "128613002"})  # Epilepsy, Seizure disorder
PREGNANCY = frozenset({"72892002", "77386006", "79586000"})
# Hard red flags, by the words of an active Condition: cauda equina, cord compression, spinal
# infection, spinal metastasis, vertebral fracture.
HARD_RED_FLAG = re.compile(
    r"cauda equina|cord compression|conus medullaris|osteomyelitis of (vertebra|spine)|discitis"
    r"|epidural abscess|metasta|fracture of (vertebra|lumbar|thoracic)|vertebral fracture",
    re.IGNORECASE,
)


# ---- the charts, moved to today ----


def _dates(value: Any) -> list[date]:
    if isinstance(value, dict):
        if value.get("resourceType") in BILLING:
            return []
        return [d for v in value.values() for d in _dates(v)]
    if isinstance(value, list):
        return [d for v in value for d in _dates(v)]
    if isinstance(value, str) and DATE.match(value):
        return [date.fromisoformat(value[:10])]
    return []


def _shift(value: Any, days: int) -> Any:
    if isinstance(value, dict):
        return {k: _shift(v, days) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift(v, days) for v in value]
    if isinstance(value, str) and DATE.match(value):
        return (date.fromisoformat(value[:10]) + timedelta(days)).isoformat() + value[10:]
    if isinstance(value, str) and MONTH.match(value):  # a partial date: moved as its first day
        return (date.fromisoformat(value + "-01") + timedelta(days)).isoformat()[:7]
    return value


def load(path: Path) -> Chart:
    """The chart's resources, every date moved so that its last date of care is today."""
    bundle = json.loads(gzip.decompress(path.read_bytes()))
    shifted = _shift(bundle, (TODAY - max(_dates(bundle))).days)
    return [e["resource"] for e in shifted["entry"]]


def patient(chart: Chart) -> dict[str, Any]:
    return next(r for r in chart if r["resourceType"] == "Patient")


def age(chart: Chart) -> int:
    born = date.fromisoformat(patient(chart)["birthDate"])
    return TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))


def deceased(chart: Chart) -> bool:
    p = patient(chart)
    return bool(p.get("deceasedDateTime") or p.get("deceasedBoolean"))


def active_drugs(chart: Chart) -> list[str]:
    """The displays (lower case) of active or on-hold MedicationRequests."""
    return [
        " ".join(c.get("display", "") for c in r["medicationCodeableConcept"]["coding"]).lower()
        for r in chart
        if r["resourceType"] == "MedicationRequest" and r.get("status") in ("active", "on-hold")
    ]


def takes(chart: Chart, names: tuple[str, ...]) -> bool:
    return any(name in drug for drug in active_drugs(chart) for name in names)


def active_conditions(chart: Chart) -> Chart:
    return [
        r
        for r in chart
        if r["resourceType"] == "Condition"
        and any(c.get("code") == "active" for c in r["clinicalStatus"]["coding"])
    ]


def has_condition(chart: Chart, codes: frozenset[str]) -> bool:
    return any(c["code"] in codes for r in active_conditions(chart) for c in r["code"]["coding"])


def hard_red_flags(chart: Chart) -> list[str]:
    """The displays of active Conditions that are a hard red flag for back pain."""
    return [
        c["display"]
        for r in active_conditions(chart)
        for c in r["code"]["coding"]
        if HARD_RED_FLAG.search(c.get("display", ""))
    ]


def condition(cid: str, pid: str, code: str, display: str, onset: date | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "code": {"coding": [{"system": SNOMED, "code": code, "display": display}]},
        "subject": {"reference": f"Patient/{pid}"},
    }
    if onset is not None:
        out["onsetDateTime"] = onset.isoformat()
    return out


def with_ms(chart: Chart) -> Chart:
    """The chart with MS and low back pain (onset 10 days ago) added."""
    pid = patient(chart)["id"]
    return [
        *chart,
        condition("added-ms", pid, "24700007", "Multiple sclerosis (disorder)", None),
        condition("added-lbp", pid, "279039007", "Low back pain", TODAY - timedelta(10)),
    ]


def draft(rid: str, pid: str, code: str, display: str, dose: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": code, "display": display}],
            "text": display,
        },
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": TODAY.isoformat(),
        "dosageInstruction": [{"text": dose}],
    }


def drafts(pid: str) -> dict[str, Any]:
    orders = [
        draft("draft-ibuprofen", pid, IBUPROFEN_400, "ibuprofen 400 MG Oral Tablet", "400 mg tid"),
        draft("draft-tizanidine", pid, TIZANIDINE_4, "tizanidine 4 MG Oral Tablet", "4 mg qhs"),
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in orders],
    }


def evaluate(chart: Chart, hook: str = "patient-view") -> list[Card]:
    pid = patient(chart)["id"]
    profile = classify(chart, today=TODAY, patient_id=pid)
    orders = ()
    if hook != "patient-view":
        orders = classify_orders(drafts(pid), selections=None, resources=chart)
    found = cards_for(
        hook, profile, patient_id=pid, user_id="Practitioner/x", orders=orders, today=TODAY
    )
    return check(found)


def kinds(cards: list[Card]) -> list[str]:
    return [c.source.topic.code if c.source.topic else "?" for c in cards]


def card(cards: list[Card], kind: str) -> Card | None:
    return next((c for c in cards if kinds([c]) == [kind]), None)


def proposed_codes(c: Card) -> set[str]:
    return {
        coding["code"]
        for s in c.suggestions
        for a in s.actions
        if a.resource and a.resource.get("resourceType") == "MedicationRequest"
        for coding in a.resource["medicationCodeableConcept"]["coding"]
    }


def _name(path: Path) -> str:
    return path.name.split(".")[0].rsplit("_", 1)[0]


def charts(where: Callable[[Chart], bool] = lambda chart: True) -> list[Any]:
    """Every fixture chart for which `where(chart)` holds, as pytest parameters."""
    return [pytest.param(p, id=_name(p)) for p in CHARTS if where(load(p))]


def adult(chart: Chart) -> bool:
    return not deceased(chart) and age(chart) >= 18


def nsaid_risky(chart: Chart) -> bool:
    bleeding = takes(chart, ANTICOAGULANTS) or takes(chart, ANTIPLATELETS)
    return adult(chart) and (bleeding or age(chart) >= 65)


def epilepsy_drug(chart: Chart) -> bool:
    return has_condition(chart, EPILEPSY) and takes(chart, ANTICONVULSANTS)


# ---- the fixture set covers what it is for ----


def test_the_fixtures_cover_what_they_are_chosen_for():
    found = [load(p) for p in CHARTS]
    assert len(found) == 8
    assert any(takes(c, ("warfarin",)) for c in found)
    assert any(takes(c, ("warfarin",)) and age(c) < 65 for c in found)  # warfarin alone blocks
    assert any(takes(c, ("naproxen",)) for c in found)
    assert any(epilepsy_drug(c) for c in found)
    assert any(has_condition(c, EPILEPSY) and adult(c) for c in found)
    assert any(adult(c) and age(c) >= 65 for c in found)
    assert any(not deceased(c) and age(c) < 18 for c in found)
    assert any(deceased(c) for c in found)
    # No Synthea chart of the 40 has an active antiplatelet, opioid or pregnancy: these have them
    # stopped or resolved (tested below: they change nothing).
    stopped = [r for c in found for r in c if r.get("status") == "stopped"]
    assert any("clopidogrel" in json.dumps(r).lower() for r in stopped)
    assert any(re.search("|".join(OPIOIDS), json.dumps(r).lower()) for r in stopped)
    assert any(
        r["resourceType"] == "Condition" and "72892002" in json.dumps(r) for c in found for r in c
    )


# ---- (a) as they are: no MS, no card ----


@pytest.mark.parametrize("path", charts())
def test_no_card_without_ms(path: Path):
    chart = load(path)
    assert kinds(evaluate(chart)) == []
    assert kinds(evaluate(chart, "order-select")) == []


# ---- (b) with MS and back pain added ----


@pytest.mark.parametrize("path", charts())
def test_first_line_for_every_living_adult_without_a_hard_red_flag(path: Path):
    chart = load(path)
    found = kinds(evaluate(with_ms(chart)))
    if deceased(chart):
        assert found == []
    elif age(chart) < 18:
        assert "under-18" in found and "first-line" not in found
    elif not hard_red_flags(chart):
        assert "first-line" in found


@pytest.mark.parametrize("path", charts(nsaid_risky))
def test_no_ibuprofen_with_an_anticoagulant_an_antiplatelet_or_at_65(path: Path):
    chart = with_ms(load(path))
    first_line = card(evaluate(chart), "first-line")
    assert first_line is not None
    assert IBUPROFEN_400 not in proposed_codes(first_line)
    assert "nsaid-risk" in kinds(evaluate(chart, "order-select"))


@pytest.mark.parametrize("path", charts(lambda c: adult(c) and takes(c, ANTICOAGULANTS)))
def test_the_anticoagulant_alone_rules_out_ibuprofen(path: Path):
    """The same, with the chart's own NSAIDs stopped (the 52-year-old on warfarin also takes
    naproxen, which alone would keep ibuprofen off the first-line card)."""
    chart = [
        {**r, "status": "stopped"}
        if r["resourceType"] == "MedicationRequest" and re.search(NSAIDS, json.dumps(r).lower())
        else r
        for r in with_ms(load(path))
    ]
    first_line = card(evaluate(chart), "first-line")
    assert first_line is not None
    assert IBUPROFEN_400 not in proposed_codes(first_line)
    assert "nsaid-risk" in kinds(evaluate(chart, "order-select"))


@pytest.mark.parametrize("path", charts(epilepsy_drug))
def test_no_neuropathic_card_for_an_anticonvulsant_given_for_epilepsy(path: Path):
    assert "neuropathic" not in kinds(evaluate(with_ms(load(path))))


def _carbamazepine() -> dict[str, Any]:
    """The chart's own active carbamazepine request (from the epilepsy chart that has one)."""
    for path in CHARTS:
        chart = load(path)
        for r in chart:
            if (
                r["resourceType"] == "MedicationRequest"
                and r.get("status") == "active"
                and "carbamazepine" in json.dumps(r["medicationCodeableConcept"]).lower()
            ):
                assert has_condition(chart, EPILEPSY)
                return r
    raise AssertionError("no fixture chart has an active carbamazepine request")


def _graft(chart: Chart, request: dict[str, Any]) -> Chart:
    pid = patient(chart)["id"]
    return [*chart, {**request, "id": "grafted", "subject": {"reference": f"Patient/{pid}"}}]


def test_carbamazepine_for_epilepsy_is_not_neuropathic_pain_in_a_living_adult():
    """The carbamazepine chart's patient died a child, so it earns no card at all: its Synthea
    carbamazepine request is moved to the living adults' charts, with and without epilepsy."""
    request = _carbamazepine()
    living = [load(p) for p in CHARTS if adult(load(p)) and not hard_red_flags(load(p))]
    with_epilepsy = [c for c in living if has_condition(c, EPILEPSY)]
    without = [c for c in living if not has_condition(c, EPILEPSY)]
    assert with_epilepsy and without
    for chart in with_epilepsy:
        found = kinds(evaluate(with_ms(_graft(chart, request))))
        assert "first-line" in found and "neuropathic" not in found
    # The contrast: with no competing reason recorded, the same request is neuropathic evidence.
    assert "neuropathic" in kinds(evaluate(with_ms(_graft(without[0], request))))


@pytest.mark.parametrize("path", charts())
def test_no_red_flag_card_without_a_hard_red_flag_in_the_conditions(path: Path):
    chart = load(path)
    found = evaluate(with_ms(chart))
    if not hard_red_flags(chart):
        assert "red-flag" not in kinds(found)
        assert [c for c in found if c.indicator == "critical"] == []


@pytest.mark.parametrize("path", charts(lambda c: not takes(c, OPIOIDS)))
def test_no_opioid_card_without_an_active_opioid(path: Path):
    assert "opioid-active" not in kinds(evaluate(with_ms(load(path))))


def _summary(cards: list[Card]) -> list[tuple[str, str, frozenset[str]]]:
    return [
        (k, c.indicator, frozenset(proposed_codes(c)))
        for k, c in zip(kinds(cards), cards, strict=True)
    ]


@pytest.mark.parametrize("path", charts())
def test_stopped_drugs_and_resolved_pregnancies_change_nothing(path: Path):
    chart = with_ms(load(path))

    def current(r: dict[str, Any]) -> bool:
        if r["resourceType"] == "MedicationRequest":
            return r.get("status") in ("active", "on-hold")
        if (
            r["resourceType"] == "Condition"
            and {c["code"] for c in r["code"]["coding"]} & PREGNANCY
        ):
            return r in active_conditions(chart)
        return True

    trimmed = [r for r in chart if current(r)]
    for hook in ("patient-view", "order-select"):
        assert _summary(evaluate(trimmed, hook)) == _summary(evaluate(chart, hook))
