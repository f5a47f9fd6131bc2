"""Every line a card shows is a sentence of the catalogue (docs/cards.md, from cards/content.py).

The cards are rendered for every sample patient on patient-view, and on order-select with each
sample draft order alone and on order-sign with all of them together; then for every FHIR chart
and hand-built profile the card tests make (their test functions are run again with `cards_for`
recorded). Each card's summary, lead, detail lines (Markdown bullets and headings taken off),
suggestion labels and action descriptions must match one template of `cards.content` made into
a regular expression: the text escaped, each `{placeholder}` matching any text (a few match what
they stand for: `{severity}` a severity word, `{concern}` and `{reasons}` concern templates). The
evidence quoted under "Why this card" (`Evidence.describe()`) is patient data, not a sentence,
and is left out. A sentence written in rule code instead of `cards/content.py` fails here.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from functools import cache
from typing import Any

import pytest

import cards
from cards.build import plain
from cards.catalogue import render
from cards.content import (
    ACTIONS,
    CARDS,
    CONCERNS,
    HEADINGS,
    LEFT_OUT,
    MS_NUANCE,
    NOTES,
    SECTION_MORE,
    SEVERITY_WORDS,
)
from cards.model import Card
from cards.products import DRUGS
from mappings import classify, classify_orders
from mappings.profile import Evidence
from service.demo.samples import list_orders, list_samples, load_order, sample_resources

TODAY = date.today()
USER = "Practitioner/catalogue-check"

# The card tests whose charts and profiles are rendered again (functions needing a fixture, or
# driven by hypothesis, are left out).
TEST_MODULES = (
    "tests.cards.test_medication_safety_in_context",
    "tests.cards.test_findings_in_context",
    "tests.cards.test_patient_view",
    "tests.cards.test_orders",
    "tests.cards.test_safety_suggestions",
    "tests.cards.test_scope_and_first_line",
    "tests.cards.test_synthea_charts",
)

# ---- templates as regular expressions --------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(\w*)(?::[^{}]*)?\}")
_ANY = ".+?"
# Placeholders that may be filled with nothing.
_MAYBE_EMPTY = frozenset({"why"})


def _sentence(template: str) -> str:
    """A template as a card writes it as a sentence (cards.rules._shared.sentence)."""
    return template[0].upper() + template[1:] + "."


def pattern(template: str) -> str:
    """The template as a regular expression (not anchored)."""
    out, start = [], 0
    for found in _PLACEHOLDER.finditer(template):
        out.append(re.escape(template[start : found.start()]))
        name = found.group(1)
        out.append(_FILLS.get(name) or (".*?" if name in _MAYBE_EMPTY else _ANY))
        start = found.end()
    out.append(re.escape(template[start:]))
    return "".join(out)


_FILLS: dict[str, str] = {}
_FILLS["severity"] = "(?i:" + "|".join(map(re.escape, SEVERITY_WORDS.values())) + ")"
_CONCERN = "(?:" + "|".join(pattern(t) for t in CONCERNS.values()) + ")"
_FILLS.update(
    concern=_CONCERN,
    reasons=f"{_CONCERN}(?:; {_CONCERN})*",
    concerns=f"{_CONCERN}(?:; {_CONCERN})*",
    dose=pattern(_sentence(CONCERNS["dose"])),
)


def _shared_lines() -> list[str]:
    """Lines any card may show: concern sentences, left-out lines, the MS nuance, order notes."""
    return [
        *(_sentence(t) for t in CONCERNS.values()),
        LEFT_OUT,
        *MS_NUANCE.values(),
        *NOTES.values(),
        SECTION_MORE,
    ]


@cache
def templates(kind: str) -> dict[str, list[str]]:
    """Every template a card of `kind` may show, by part of the card."""
    t = CARDS[kind]
    return {
        "summary": list(t.summaries.values()),
        "lead": [f"**{t.lead}**"],
        "heading": [f"### {h}" for h in HEADINGS.values()],
        "line": [*t.advice.values(), *t.cautions.values(), *t.notes.values(), *_shared_lines()],
        "label": [*t.labels.values(), *(d.label for d in DRUGS.values())],
        "action": list(ACTIONS.values()),
    }


@cache
def _compiled(kind: str, part: str) -> list[tuple[str, re.Pattern[str]]]:
    return [(t, re.compile(pattern(t), re.DOTALL)) for t in templates(kind)[part]]


def matching(kind: str, part: str, line: str) -> str | None:
    """The first template of that part of a `kind` card that the whole line matches."""
    for template, regex in _compiled(kind, part):
        if regex.fullmatch(line):
            return template
    return None


# ---- rendering -------------------------------------------------------------------------------


class Recorder:
    """Cards from `cards_for` calls, and every evidence line a card's detail could quote."""

    def __init__(self) -> None:
        self.cards: list[tuple[str, Card]] = []
        self.described: set[str] = set()

    def wrap(self, real: Callable[..., list[Card]], case: str) -> Callable[..., list[Card]]:
        def cards_for(*args: Any, **kwargs: Any) -> list[Card]:
            found = real(*args, **kwargs)
            self.cards += [(case, c) for c in found]
            return found

        return cards_for


def _sample_cases(record: Callable[[str], Callable[..., list[Card]]]) -> None:
    orders = list_orders()
    for sample in list_samples():
        chart = sample_resources(sample.id, today=TODAY)
        pid = chart[0]["id"]
        profile = classify(chart, today=TODAY, patient_id=pid)
        record(f"{sample.id}/patient-view")("patient-view", profile, patient_id=pid, user_id=USER)
        drafts = [load_order(o.name, patient_id=pid, today=TODAY) for o in orders]
        for order, draft in zip(orders, drafts, strict=True):
            classified = classify_orders([draft], selections=None, resources=chart)
            record(f"{sample.id}/order-select/{order.name}")(
                "order-select",
                profile,
                patient_id=pid,
                user_id=USER,
                orders=classified,
                today=TODAY,
            )
        classified = classify_orders(drafts, selections=None, resources=chart)
        record(f"{sample.id}/order-sign/all-orders")(
            "order-sign", profile, patient_id=pid, user_id=USER, orders=classified, today=TODAY
        )


def _extra_cases(record: Callable[[str], Callable[..., list[Card]]]) -> None:
    """Branches no sample or card test reaches: an antispasticity drug taken, with its
    concerns (titrate card), and an oral baclofen order on an intrathecal pump."""
    from tests.cards import test_medication_safety_in_context as fhir

    baclofen = fhir.drug("197391", "baclofen 10 MG Oral Tablet", "bac")
    tizanidine = fhir.drug("313413", "tizanidine 4 MG Oral Tablet", "tiz")
    cipro = fhir.drug("309309", "ciprofloxacin 500 MG Oral Tablet", "cipro")
    pump = fhir.drug("1047444", "20 ML baclofen 0.5 MG/ML Injection [Gablofen]", "itb")
    oral = fhir.draft("197391", "baclofen 10 MG Oral Tablet")
    cases = {
        "baclofen-at-70": ((baclofen, fhir.egfr(50)), 70, ()),
        "tizanidine-and-ciprofloxacin": ((tizanidine, cipro), 45, ()),
        "oral-baclofen-on-a-pump": ((pump,), 45, (oral,)),
    }
    for name, (resources, age, orders) in cases.items():
        chart = [fhir.patient(age), fhir.ms(), fhir.back_pain(), fhir.spasticity(), *resources]
        profile = classify(chart, today=TODAY, patient_id=fhir.PID)
        hook = "order-select" if orders else "patient-view"
        drafts = classify_orders(list(orders), selections=None, resources=chart)
        record(f"extra/{name}")(
            hook, profile, patient_id=fhir.PID, user_id=USER, orders=drafts, today=TODAY
        )


def _parameters(fn: Callable[..., Any]) -> Iterator[dict[str, Any]]:
    """Every argument set of a test function's `parametrize` marks (stacked marks multiply)."""
    combos: list[dict[str, Any]] = [{}]
    for mark in getattr(fn, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        names, values = mark.args[0], mark.args[1]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        rows = []
        for value in values:
            if type(value).__name__ == "ParameterSet":  # pytest.param(...)
                value = value.values
            elif len(names) == 1:
                value = (value,)
            rows.append(dict(zip(names, value, strict=True)))
        combos = [{**c, **r} for c in combos for r in rows]
    yield from combos


def _test_cases(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run the card tests' functions again, recording their cards; how many calls ran."""
    real, ran = cards.cards_for, 0
    for name in TEST_MODULES:
        module = importlib.import_module(name)
        for attr, fn in vars(module).items():
            if not (attr.startswith("test_") and inspect.isfunction(fn)):
                continue
            if hasattr(fn, "hypothesis"):
                continue
            wanted = set(inspect.signature(fn).parameters)
            for args in _parameters(fn):
                if wanted - set(args):
                    break  # needs a fixture
                case = f"{name.rsplit('.', 1)[-1]}::{attr}"
                wrapped = recorder.wrap(real, case)
                monkeypatch.setattr(cards, "cards_for", wrapped)
                if hasattr(module, "cards_for"):
                    monkeypatch.setattr(module, "cards_for", wrapped)
                fn(**args)
                ran += 1
    monkeypatch.setattr(cards, "cards_for", real)
    return ran


@pytest.fixture(scope="module")
def rendered() -> Recorder:
    recorder = Recorder()
    with pytest.MonkeyPatch.context() as mp:
        describe = Evidence.describe

        def recording(self: Evidence, *args: Any) -> str:
            text = describe(self, *args)
            recorder.described.add(text)
            return text

        mp.setattr(Evidence, "describe", recording)
        _sample_cases(lambda case: recorder.wrap(cards.cards_for, case))
        _extra_cases(lambda case: recorder.wrap(cards.cards_for, case))
        recorder.ran = _test_cases(recorder, mp)  # type: ignore[attr-defined]
    return recorder


# ---- the lines of a card ---------------------------------------------------------------------


_WHY = f"### {HEADINGS['why']}"


def lines_of(card: Card) -> Iterator[tuple[str, str]]:
    """(part, line) for every line the card shows; "why" for the lines under "Why this card"
    (notes, then the evidence quoted)."""
    yield "summary", card.summary
    detail = (card.detail or "").split("\n")
    yield "lead", detail[0]
    part = "line"
    for line in detail[1:]:
        if not line:
            continue
        if line.startswith("### "):
            yield "heading", line
            part = "why" if line == _WHY else "line"
        else:
            assert line.startswith("- "), line
            yield part, line[2:]
    for s in card.suggestions:
        yield "label", s.label
        for a in s.actions:
            yield "action", a.description


def _evidence_lines(recorder: Recorder) -> set[str]:
    """Each quoted evidence line as a detail bullet shows it (build.quote, build._bullets), and
    as a pair card's note quotes it (`NOTES["together"]`)."""
    lines = {plain(text, 800) for text in recorder.described}
    return lines | {plain(NOTES["together"].format(other=line), 800) for line in lines}


def _check(recorder: Recorder) -> tuple[Counter[str], list[str]]:
    evidence = _evidence_lines(recorder)
    used: Counter[str] = Counter()
    failures = []
    for case, card in recorder.cards:
        kind = card.source.topic.code
        for part, line in lines_of(card):
            template = matching(kind, "line" if part == "why" else part, line)
            if template is None and part == "why" and line in evidence:
                used["(evidence)"] += 1  # patient data, not a sentence
                continue
            if template is None:
                failures.append(f"{case}: {kind} {part}: {line!r}")
            else:
                used[template] += 1
    return used, failures


def test_every_line_shown_is_a_catalogue_sentence(rendered: Recorder):
    used, failures = _check(rendered)
    assert not failures, "lines not in cards/content.py:\n" + "\n".join(dict.fromkeys(failures))
    assert sum(used.values()) > 1000


def test_every_card_kind_is_rendered(rendered: Recorder):
    kinds = {card.source.topic.code for _, card in rendered.cards}
    assert kinds == set(CARDS)
    assert rendered.ran > 100  # type: ignore[attr-defined]


def test_every_template_is_in_the_catalogue():
    doc = render()
    for kind in CARDS:
        for part, found in templates(kind).items():
            for template in found:
                raw = template.removeprefix("### ").strip("*") if part != "line" else template
                if template in (_sentence(t) for t in CONCERNS.values()):
                    continue  # listed in their template form (checked below)
                assert raw in doc, (kind, part, template)
    for template in CONCERNS.values():
        assert template in doc


def test_an_inline_sentence_is_caught():
    kind = "first-line"
    assert matching(kind, "line", CARDS[kind].advice["stay_active"])
    assert matching(kind, "line", "Stay active and keep moving.") is None
    assert matching(kind, "line", "Caution (eGFR 40): reduce the dose.")
    assert matching(kind, "line", "Consider tramadol (opioid): weaker.") is None
    assert matching("spasticity", "line", "Baclofen: caution (age 70): falls.")
    assert matching("spasticity", "line", "Baclofen: think again.") is None
