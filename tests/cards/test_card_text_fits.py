"""Every card's text fits and says each fact once, on every sample and on real-shaped charts.

Rendered: every sample patient on patient-view, each sample draft order alone on order-select and
all of them together on order-sign; the same for the Synthea fixture charts (tests/fixtures/synthea)
with MS and low back pain added (as tests/cards/test_synthea_charts.py adds them), with the sample
orders and a draft ibuprofen and tizanidine drawn up for their patient. The 40 charts of the
project's shared Synthea copy (`../shared/data/synthea-r4`, or `$MSCDS_SYNTHEA_DIR`) are rendered
the same way when that directory exists, and skipped (saying so) when it does not: nothing is
copied from it.

On every card:
- the summary is under 140 characters (CDS Hooks);
- no summary cuts a word. Precisely: a "…" cuts a word when the run of letters and digits right
  before it is not a whole word (any case) of the text it shortens. Every text a summary shortens
  is stated in full on the card's detail (drug and order names under "Why this card", concerns
  under "Cautions") or is a label of the terminology (red flags, findings), so the check reads
  the whole words of those;
- no detail cuts a reference: every "[...]" ending a "Why this card" line is the reference of a
  resource of the chart or of a draft order, whole;
- results are shown in a clinician's units ("mL/min/1.73 m²", never UCUM's "{1.73_m2}"), as
  whole numbers for eGFR;
- each fact once under "Why this card": no line repeated; no two lines naming one reference with
  one code (an order's note and its own evidence; a pair's note and the other drug's evidence);
  on an order's card, no evidence line of that order repeating a code the card quotes from
  elsewhere (the imaging order's reason, when the chart's back pain is quoted).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from cards import cards_for
from cards.content import HEADINGS
from cards.model import Card
from mappings import classify, classify_orders, load_terminology
from service.demo.samples import list_orders, list_samples, load_order, sample_resources
from tests.cards.test_synthea_charts import CHARTS, draft, load, patient, with_ms

TODAY = date.today()
USER = "Practitioner/fit-check"
SHARED = Path(
    os.environ.get("MSCDS_SYNTHEA_DIR")
    or Path(__file__).resolve().parents[3] / "shared" / "data" / "synthea-r4"
)
SHARED_CHARTS = sorted(SHARED.glob("*.json.gz")) if SHARED.is_dir() else []
_NO_SHARED = f"no Synthea charts in {SHARED} (the shared copy is absent: set MSCDS_SYNTHEA_DIR)"

MAX_SUMMARY = 139
_WHY = f"### {HEADINGS['why']}"
_WORD_BEFORE_CUT = re.compile(r"([^\W_]+)…")
_WORD = re.compile(r"[^\W_]+")
# A "Why this card" line naming a resource: an order's or a pair's note, or an evidence line.
_LINE = re.compile(
    r"^(?P<note>Order: |Together with: )?(?P<name>.*?)(?: \((?P<code>[^()]+)\))?"
    r"(?:, \d{4}-\d\d-\d\d)? [\[(](?P<ref>[A-Za-z]+/[^\s\[\]()]+)[\])]$"
)


# ---- what the cards are rendered for -----------------------------------------------------------


Case = tuple[str, list[dict[str, Any]], list[Card]]


def _references(resources: list[dict[str, Any]]) -> set[str]:
    return {f"{r['resourceType']}/{r['id']}" for r in resources if r.get("id")}


def _render(name: str, chart: list[dict[str, Any]], drafts: list[dict[str, Any]]) -> Iterator[Case]:
    """(case, the chart and drafts, cards) for patient-view, each draft alone on order-select
    and all of them on order-sign."""
    pid = patient(chart)["id"]
    profile = classify(chart, today=TODAY, patient_id=pid)
    inputs = [*chart, *drafts]
    yield (
        f"{name}/patient-view",
        inputs,
        cards_for("patient-view", profile, patient_id=pid, user_id=USER),
    )
    for one in drafts:
        orders = classify_orders([one], selections=None, resources=chart)
        found = cards_for(
            "order-select", profile, patient_id=pid, user_id=USER, orders=orders, today=TODAY
        )
        yield f"{name}/order-select/{one['id']}", inputs, found
    orders = classify_orders(drafts, selections=None, resources=chart)
    found = cards_for(
        "order-sign", profile, patient_id=pid, user_id=USER, orders=orders, today=TODAY
    )
    yield f"{name}/order-sign", inputs, found


def _sample_orders(pid: str) -> list[dict[str, Any]]:
    return [load_order(o.name, patient_id=pid, today=TODAY) for o in list_orders()]


def _synthea_cases(path: Path) -> Iterator[Case]:
    chart = with_ms(load(path))
    pid = patient(chart)["id"]
    drafts = [
        *_sample_orders(pid),
        draft("draft-ibuprofen", pid, "197805", "ibuprofen 400 MG Oral Tablet", "400 mg tid"),
        draft("draft-tizanidine", pid, "313413", "tizanidine 4 MG Oral Tablet", "4 mg qhs"),
    ]
    yield from _render(path.name.split("_")[0], chart, drafts)


# ---- the checks --------------------------------------------------------------------------------


@cache
def _labels() -> frozenset[str]:
    """The whole words of the terminology's labels (red flags and findings a summary names)."""
    return frozenset(
        w.lower() for c in load_terminology().concepts.values() for w in _WORD.findall(c.label)
    )


def cuts_inside_words(card: Card) -> list[str]:
    """The words a summary's "…" cuts (see the module docstring)."""
    whole = {w.lower() for w in _WORD.findall(card.detail or "")} | _labels()
    return [w for w in _WORD_BEFORE_CUT.findall(card.summary) if w.lower() not in whole]


def why_lines(card: Card) -> list[str]:
    detail = (card.detail or "").split("\n")
    if _WHY not in detail:
        return []
    return [line[2:] for line in detail[detail.index(_WHY) + 1 :] if line.startswith("- ")]


def problems(case: str, inputs: list[dict[str, Any]], cards: list[Card]) -> list[str]:
    """What is wrong with the text of these cards, one line each."""
    refs = _references(inputs)
    found = []
    for card in cards:
        topic = card.source.topic if card.source is not None else None
        where = f"{case} {topic.code if topic is not None else '?'}"
        summary = card.summary
        if len(summary) > MAX_SUMMARY:
            found.append(f"{where}: summary of {len(summary)} characters: {summary!r}")
        for word in cuts_inside_words(card):
            found.append(f"{where}: summary cut inside a word ({word}…): {summary!r}")
        text = f"{summary}\n{card.detail}"
        if "{1.73" in text or "_m2}" in text or re.search(r"eGFR \d+\.\d", text):
            found.append(f"{where}: result not in a clinician's unit or rounding: {text!r}")
        lines = why_lines(card)
        if len(lines) != len(set(lines)):
            found.append(f"{where}: a line repeated under Why this card: {lines}")
        parsed = []
        for line in lines:
            match = _LINE.match(line)
            if match is None:
                if "[" in line:
                    found.append(f"{where}: a reference cut: {line!r}")
                continue
            if match["ref"] not in refs:
                found.append(f"{where}: reference {match['ref']!r} is not whole: {line!r}")
            name = match["name"].strip("*")
            parsed.append((match["note"] or "", name, match["code"] or "", match["ref"]))
        notes = [p for p in parsed if p[0]]
        evidence = [p for p in parsed if not p[0]]
        for _, name, code, ref in notes:
            for _, other, other_code, other_ref in evidence:
                if other_ref == ref and (other == name or (code and other_code == code)):
                    found.append(f"{where}: {ref} said twice (note and evidence): {lines}")
        keys = [(ref, code) for _, _, code, ref in evidence if code]
        if len(keys) != len(set(keys)):
            found.append(f"{where}: one reference and code quoted twice: {lines}")
        order = next((p for p in notes if p[0] == "Order: "), None)
        for _, _, code, ref in evidence:
            again = [r for _, _, c, r in parsed if c == code and r != ref]
            if code and order is not None and ref == order[3] and again:
                found.append(f"{where}: the order's {code} is quoted from {again} too: {lines}")
    return found


# ---- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", list_samples(), ids=lambda s: s.id)
def test_sample_cards_fit_and_say_each_fact_once(sample):
    chart = sample_resources(sample.id, today=TODAY)
    found, cards = [], 0
    for case, inputs, rendered in _render(sample.id, chart, _sample_orders(chart[0]["id"])):
        found += problems(case, inputs, rendered)
        cards += len(rendered)
    assert not found, "\n".join(found)
    assert cards or sample.id == "no-ms-back-pain"


@pytest.mark.parametrize("path", CHARTS, ids=lambda p: p.name.split("_")[0])
def test_synthea_fixture_cards_fit_and_say_each_fact_once(path: Path):
    found = [p for case in _synthea_cases(path) for p in problems(*case)]
    assert not found, "\n".join(found)


@pytest.mark.skipif(not SHARED_CHARTS, reason=_NO_SHARED)
@pytest.mark.parametrize(
    "path", SHARED_CHARTS or [None], ids=lambda p: p.name.split("_")[0] if p else "absent"
)
def test_shared_synthea_cards_fit_and_say_each_fact_once(path: Path):
    found = [p for case in _synthea_cases(path) for p in problems(*case)]
    assert not found, "\n".join(found)


# ---- the checks catch what they are for --------------------------------------------------------


def _card(summary: str, detail: str) -> Card:
    return Card.model_construct(summary=summary, detail=detail, source=None)


def test_a_cut_inside_a_word_is_caught():
    detail = "**Lead.**\n### Why this card\n- oxycodone hydrochloride 5 MG Oral Tablet [X/1]"
    assert cuts_inside_words(
        _card("Opioid ordered (oxycodone hydrochloride 5 MG Oral Tab…)", detail)
    ) == ["Tab"]
    assert cuts_inside_words(_card("Opioid ordered (oxycodone hydrochloride…)", detail)) == []
    assert cuts_inside_words(_card("Opioid ordered (oxycodone 5 mg tablet)", detail)) == []


def test_a_cut_reference_and_a_repeated_fact_are_caught():
    inputs = [{"resourceType": "MedicationRequest", "id": "draft-oxy", "status": "draft"}]
    cut = _card("s", "**L.**\n### Why this card\n- eGFR 38 (LOINC 98979-8) [Observation/obs-egf…]")
    assert any("not whole" in p for p in problems("c", inputs, [cut]))
    twice = _card(
        "s",
        "**L.**\n### Why this card\n"
        "- Order: **oxycodone 5 MG Oral Tablet** (RxNorm 1049621) [MedicationRequest/draft-oxy]\n"
        "- oxycodone 5 MG Oral Tablet (RxNorm 1049621) [MedicationRequest/draft-oxy]",
    )
    assert any("twice" in p for p in problems("c", inputs, [twice]))
    unit = _card("eGFR 40.8868 mL/min/{1.73_m2}", "**L.**")
    assert any("unit" in p for p in problems("c", inputs, [unit]))


def test_a_long_ehr_text_is_quoted_as_its_whole_would_be() -> None:
    """`plain` reads only the words that can reach the quote; the quote is what normalising the
    whole text gives (markers, white space, unsafe characters, the cut after a whole word)."""
    import random

    from cards.build import _MARKER, _UNSAFE, cut, plain

    def whole(text: str, limit: int) -> str:
        return cut(_MARKER.sub("", " ".join(text.split()).translate(_UNSAFE)), limit)

    rnd = random.Random(18)
    pieces = ["a", "bb", " ", "\t", "\n", "1", "12.", ")", "#", "> ", "* ", "<", "|", "`", "é"]
    for _ in range(5_000):
        limit = rnd.choice([1, 2, 3, 10, 200])
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 400)))
        if rnd.random() < 0.3:
            text = "9" * rnd.randint(1, 300) + ". " + text  # a long list marker first
        text += " word" * 2_000  # longer than `plain` remembers
        assert plain(text, limit) == whole(text, limit)
