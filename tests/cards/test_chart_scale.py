"""A chart with hundreds of medications: linear work and a bounded card.

A long medication list (a pasted history, an import gone wrong, or a hostile caller) must not make
a patient-view call cost the square of its length, nor make a card list every medication. The
cost is counted, not timed: the Python lines run while the chart is classified and its cards made
(`sys.settrace`), for 1x, 2x and 4x as many medications. Wall-clock figures are
bench/hostile_text.py's.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from cards import cards_for
from cards.build import MAX_SECTION_LINES
from cards.content import HEADINGS, SECTION_MORE
from cards.model import Card
from mappings import classify
from tests.cards.builders import by_kind, check, lines_run
from tests.mappings.builders import SNOMED, cc, coding, condition, days_ago, med_request, rx

TODAY = date.today()
PID = "p1"
CLINICIAN = "Practitioner/doc"
# Statements the spasticity card reviews one by one (each a baclofen product taken), and NSAIDs
# the first-line card names.
BACLOFEN, TIZANIDINE, IBUPROFEN = "197391", "313412", "197805"
TAKEN = (
    (BACLOFEN, "baclofen 10 MG Oral Tablet"),
    (TIZANIDINE, "tizanidine 2 MG Oral Tablet"),
    (IBUPROFEN, "ibuprofen 400 MG Oral Tablet"),
)


def chart(meds: int) -> list[dict[str, Any]]:
    born = TODAY.replace(year=TODAY.year - 50)
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": PID, "birthDate": born.isoformat()},
        condition(cc(coding(SNOMED, "426373005", "Relapsing remitting MS")), id="ms"),
        condition(cc(coding(SNOMED, "279039007", "Low back pain")), id="lbp", onset=days_ago(60)),
        condition(cc(coding(SNOMED, "221360009", "Spasticity")), id="spast"),
    ]
    for i in range(meds):
        code, name = TAKEN[i % len(TAKEN)]
        when = (TODAY - timedelta(days=1 + i)).isoformat()
        resources.append(med_request(rx(code, name), id=f"med-{i:05d}", authoredOn=when))
    return resources


def answer(meds: int) -> list[Card]:
    profile = classify(chart(meds), today=TODAY, patient_id=PID)
    return cards_for("patient-view", profile, patient_id=PID, user_id=CLINICIAN, today=TODAY)


def work(meds: int) -> int:
    """How many Python lines classifying the chart and making its cards runs."""
    resources = chart(meds)

    def run() -> None:
        profile = classify(resources, today=TODAY, patient_id=PID)
        cards_for("patient-view", profile, patient_id=PID, user_id=CLINICIAN, today=TODAY)

    return lines_run(run)


def sections(card: Card) -> dict[str, list[str]]:
    """The bullet lines of each detail section, by heading key."""
    found: dict[str, list[str]] = {}
    current = None
    names = {f"### {text}": key for key, text in HEADINGS.items()}
    for line in (card.detail or "").splitlines():
        if line in names:
            current = found.setdefault(names[line], [])
        elif current is not None and line.startswith("- "):
            current.append(line[2:])
    return found


def test_the_work_grows_linearly_with_the_medications():
    answer(30)  # the tables and memos are loaded before counting
    # from 150 medications on, each card shows as many lines as it can (MAX_SECTION_LINES)
    one, two, four = (work(k * 150) for k in (1, 2, 4))
    assert two > one
    # work linear in the medications adds as much at the second doubling as at the first,
    # twice over; work growing with the square of the list adds four times as much
    assert four - two <= 2.2 * (two - one), (one, two, four)


def test_a_long_medication_list_gets_bounded_cards():
    small, large = (by_kind(check(answer(n))) for n in (150, 600))
    assert small.keys() == large.keys()
    for kind, card in large.items():
        for key, lines in sections(card).items():
            assert len(lines) <= MAX_SECTION_LINES, (kind, key)
        assert len(card.model_dump_json()) <= 1.05 * len(small[kind].model_dump_json()) + 100


def test_the_last_line_counts_what_is_not_shown(monkeypatch):
    meds = 300
    why = sections(by_kind(answer(meds))["spasticity"])["why"]
    assert len(why) == MAX_SECTION_LINES
    more = re.fullmatch(SECTION_MORE.replace("{more}", r"(\d+)").replace(".", r"\."), why[-1])
    assert more is not None, why[-1]
    monkeypatch.setattr("cards.build.MAX_SECTION_LINES", 10**6)
    in_full = sections(by_kind(answer(meds))["spasticity"])["why"]
    assert why[:-1] == in_full[: MAX_SECTION_LINES - 1]  # the first lines, as they were
    assert MAX_SECTION_LINES - 1 + int(more.group(1)) == len(in_full)


def test_a_short_medication_list_is_listed_in_full():
    why = sections(by_kind(answer(12))["spasticity"])["why"]
    assert not any(SECTION_MORE.split("{more}")[1] in line for line in why)
    assert len([line for line in why if "[MedicationRequest/" in line]) == 8
