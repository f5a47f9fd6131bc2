"""Order hooks with hundreds of draft orders: linear work, a bounded answer, critical cards kept.

The cost is counted, not timed: the Python lines run while the drafts are classified and their
cards made (`sys.settrace`), for 1x, 2x and 4x as many drafts. Wall-clock figures are
bench/hostile_orders.py's.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

import cards.orders
from cards import cards_for
from cards.content import CARDS, FOLDED, NOTES
from cards.model import Card
from cards.orders import MAX_CARDS_PER_KIND, MAX_CHECKED_ORDERS, TooManyOrders
from cards.safety import MAX_QUOTED
from mappings import classify_orders
from tests.cards.builders import CLINICIAN, PID, by_kind, check, lines_run, profile

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

# (RxNorm code, product, dosage): a contraindicated pair, opioids with a benzodiazepine and a
# gabapentinoid, NSAIDs of several products, acetaminophen from two products.
MIX = (
    ("313413", "tizanidine 4 MG Oral Tablet", "4 mg by mouth three times daily"),
    ("309309", "ciprofloxacin 500 MG Oral Tablet", "500 mg by mouth twice daily"),
    ("1049621", "oxycodone hydrochloride 5 MG Oral Tablet", "5 mg by mouth every 6 hours"),
    ("197901", "lorazepam 1 MG Oral Tablet", "1 mg by mouth at bedtime"),
    ("310431", "gabapentin 300 MG Oral Capsule", "300 mg by mouth three times daily"),
    ("197807", "ibuprofen 800 MG Oral Tablet", "800 mg by mouth three times daily"),
    ("198014", "naproxen 500 MG Oral Tablet", "500 mg by mouth twice daily"),
    ("198440", "acetaminophen 500 MG Oral Tablet", "1000 mg by mouth four times daily"),
    (
        "857002",
        "acetaminophen 325 MG / hydrocodone bitartrate 5 MG Oral Tablet",
        "2 tablets by mouth every 4 hours",
    ),
)
GABAPENTIN, AMITRIPTYLINE, IBUPROFEN = (
    MIX[4],
    ("856834", "amitriptyline 25 MG Oral Tablet", ""),
    MIX[5],
)


def draft(i: int, code: str, name: str, dosage: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": f"scale-{i:05d}",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": code, "display": name}],
            "text": name,
        },
        "subject": {"reference": f"Patient/{PID}"},
    }
    if dosage:
        resource["dosageInstruction"] = [{"text": dosage}]
    return resource


def bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def mixed(n: int, unique: bool = False) -> dict[str, Any]:
    """`n` drafts of the mix; `unique`: each with its own dosage text, so no two are alike."""
    drafts = []
    for i in range(n):
        code, name, dosage = MIX[i % len(MIX)]
        drafts.append(draft(i, code, name, f"{dosage} (draft {i})" if unique else dosage))
    return bundle(drafts)


def answer(p, drafts: dict[str, Any]) -> list[Card]:
    orders = classify_orders(drafts, selections=None)
    return cards_for("order-sign", p, patient_id=PID, user_id=CLINICIAN, orders=orders)


def work(p, drafts: dict[str, Any]) -> int:
    """How many Python lines classifying the drafts and making their cards runs."""
    return lines_run(lambda: answer(p, drafts))


@pytest.mark.parametrize("unique", [False, True], ids=["order-set", "each-dosage-its-own"])
def test_the_work_grows_linearly_with_the_drafts(unique: bool):
    p = profile(egfr_value=50, age=70)
    n = 150  # past MAX_QUOTED drafts of each drug, where each check and card stops growing
    answer(p, mixed(n, unique))  # the tables and memos are loaded before counting
    one, two, four = (work(p, mixed(k * n, unique)) for k in (1, 2, 4))
    # a + b * drafts: doubling from 2x adds twice what doubling from 1x added (work growing with
    # the square of the drafts adds four times as much)
    assert two > one
    assert four - two <= 2.2 * (two - one), (one, two, four)


def test_alike_drafts_only_counted_get_the_cards_checking_each_would(monkeypatch):
    p = profile(egfr_value=50, age=70)
    drafts = mixed(400)
    counted = [c.model_dump() for c in answer(p, drafts)]
    monkeypatch.setattr(cards.orders, "_BUILT_PER_LIKENESS", 10**9)  # every draft checked
    assert [c.model_dump() for c in answer(p, drafts)] == counted


def kinds(cards: list[Card]) -> Counter[str]:
    return Counter(c.source.topic.code for c in cards)


def test_a_large_order_set_gets_a_bounded_answer():
    p = profile(egfr_value=50, age=70)
    small, large = (check(answer(p, mixed(n))) for n in (400, 1600))
    assert kinds(large) == kinds(small)
    assert all(count <= MAX_CARDS_PER_KIND + 1 for count in kinds(large).values())
    size = sum(len(c.model_dump_json()) for c in large)
    assert size <= 1.05 * sum(len(c.model_dump_json()) for c in small)


_FOLDED = [
    re.compile(re.escape(FOLDED[k]).replace(r"\{more\}", ".+").replace(r"\{kind\}", ".+"))
    for k in ("summary", "summary_one")
]


def is_folded(card: Card) -> bool:
    return any(p.fullmatch(card.summary) for p in _FOLDED)


def folded(cards: list[Card], kind: str) -> tuple[list[Card], Card]:
    """The cards of `kind` shown in full, and the one folding the rest."""
    of_kind = [c for c in cards if c.source.topic.code == kind]
    (fold,) = [c for c in of_kind if is_folded(c)]
    return [c for c in of_kind if c is not fold], fold


def test_cards_past_the_cap_fold_into_one_card_that_says_how_many():
    p = profile(egfr_value=50)  # NSAIDs with eGFR below 60: avoid
    n = MAX_CARDS_PER_KIND + 25
    cards = check(answer(p, bundle([draft(i, *IBUPROFEN) for i in range(n)])))
    shown, fold = folded(cards, "nsaid-risk")
    assert len(shown) == MAX_CARDS_PER_KIND
    assert [c.indicator for c in shown] == ["warning"] * MAX_CARDS_PER_KIND
    assert fold.summary == FOLDED["summary"].format(more=25, kind="nsaid risk")
    assert fold.indicator == "warning"
    assert fold.detail.startswith(f"**{CARDS['nsaid-risk'].lead}**")
    # the shown cards are the first drafts; the folded card names the next ones, then a count
    assert all(f"MedicationRequest/scale-{i:05d}" in c.detail for i, c in enumerate(shown))
    order = NOTES["order"].format(
        order=IBUPROFEN[1], code=f"RxNorm {IBUPROFEN[0]}", ref="MedicationRequest/scale-00010"
    )
    assert f"- {order}" in fold.detail
    assert "scale-00019" in fold.detail and "scale-00020" not in fold.detail
    assert fold.detail.endswith(f"- {FOLDED['more'].format(more=25 - MAX_CARDS_PER_KIND)}")
    assert not fold.suggestions
    # the same drafts again: the same folded card
    again = folded(check(answer(p, bundle([draft(i, *IBUPROFEN) for i in range(n)]))), "nsaid-risk")
    assert again[1].uuid == fold.uuid


def test_up_to_the_cap_nothing_is_folded():
    p = profile(egfr_value=50)
    cards = answer(p, bundle([draft(i, *IBUPROFEN) for i in range(MAX_CARDS_PER_KIND)]))
    assert kinds(cards)["nsaid-risk"] == MAX_CARDS_PER_KIND
    assert not any(is_folded(c) for c in cards)


@pytest.mark.parametrize(
    ("more", "summary", "last"),
    [
        (1, FOLDED["summary_one"].format(kind="nsaid risk"), None),
        (MAX_CARDS_PER_KIND + 1, FOLDED["summary"].format(more=11, kind="nsaid risk"), "more_one"),
        (MAX_CARDS_PER_KIND + 2, FOLDED["summary"].format(more=12, kind="nsaid risk"), "more"),
    ],
)
def test_one_more_order_is_said_in_the_singular(more: int, summary: str, last: str | None):
    p = profile(egfr_value=50)
    n = MAX_CARDS_PER_KIND + more
    _, fold = folded(
        check(answer(p, bundle([draft(i, *IBUPROFEN) for i in range(n)]))), "nsaid-risk"
    )
    assert fold.summary == summary
    lines = fold.detail.split("\n")
    if last is None:
        assert lines[-1].startswith("- " + NOTES["order"].split("{")[0])
    else:
        assert lines[-1] == "- " + FOLDED[last].format(more=more - MAX_CARDS_PER_KIND)


def test_critical_cards_are_kept_before_folding_others():
    # eGFR 50: gabapentin has a caution (an information card); after a recent heart attack a
    # TCA is contraindicated (critical). The critical drafts come last.
    p = profile(egfr_value=50, findings={"recent_mi": "Myocardial infarction"})
    infos = [draft(i, *GABAPENTIN) for i in range(30)]
    criticals = [draft(100 + i, *AMITRIPTYLINE) for i in range(3)]
    cards = check(answer(p, bundle(infos + criticals)))
    shown, fold = folded(cards, "drug-caution")
    assert [c.indicator for c in shown] == ["critical"] * 3 + ["info"] * (MAX_CARDS_PER_KIND - 3)
    assert all("amitriptyline" in c.summary for c in shown[:3])
    assert fold.indicator == "info"
    assert fold.summary == FOLDED["summary"].format(more=30 - 7, kind="drug caution")
    assert cards[0].indicator == "critical"


def test_critical_folded_cards_make_the_folded_card_critical():
    p = profile(findings={"recent_mi": "Myocardial infarction"})
    n = MAX_CARDS_PER_KIND + 5
    cards = check(answer(p, bundle([draft(i, *AMITRIPTYLINE) for i in range(n)])))
    shown, fold = folded(cards, "drug-caution")
    assert [c.indicator for c in shown] == ["critical"] * MAX_CARDS_PER_KIND
    assert fold.indicator == "critical"


def test_a_dose_total_adds_every_draft_and_lists_the_first():
    p = profile()
    apap = draft(0, *MIX[7])  # 4,000 mg a day
    combos = [draft(1 + i, *MIX[8]) for i in range(MAX_QUOTED + 20)]  # 3,900 mg a day each
    # the acetaminophen order's cards (a summary names a drug by its short name)
    cards = [
        c
        for c in answer(p, bundle([apap, *combos]))
        if c.summary.startswith("acetaminophen 500 mg tablet")
    ]
    card = by_kind(cards)["dose-above-maximum"]  # the combinations' own cards: 7,900 mg each
    total = 4000 + 3900 * (MAX_QUOTED + 20)
    assert f"{total:,} mg acetaminophen a day" in card.summary
    more = CARDS["dose-above-maximum"].notes["more"]
    assert more.format(more=20, ingredient="acetaminophen", mg=f"{3900 * 20:,}") in card.detail
    listed = [line for line in card.detail.split("\n") if "mg a day)" in line]
    assert len(listed) == 1 + MAX_QUOTED  # the order and the first other drafts


def test_one_selected_draft_among_many_quotes_a_bounded_number_of_them():
    p = profile(egfr_value=50)

    def opioid_card(n: int) -> Card:
        selected = ["MedicationRequest/scale-00002"]  # oxycodone
        orders = classify_orders(mixed(n), selections=selected)
        cards = cards_for("order-select", p, patient_id=PID, user_id=CLINICIAN, orders=orders)
        return by_kind(check(cards))["opioid-order"]

    card = opioid_card(300)
    quoted = Counter(
        line.split(" (RxNorm")[0]
        for line in card.detail.split("\n")
        if "[MedicationRequest/scale-" in line and "scale-00002]" not in line
    )
    # lorazepam, gabapentin, tizanidine and the hydrocodone combination: 33 drafts of each
    assert len(quoted) == 4 and set(quoted.values()) == {MAX_QUOTED}, quoted
    assert opioid_card(600).detail == card.detail


def test_each_unique_dosage_text_is_read_once(monkeypatch):
    """An order set whose every draft has its own words: each text is read once (and once more
    for each new reading of a product), the product names once each, whatever the drafts."""
    import mappings.dosing
    from mappings.memo import Memo

    p = profile(egfr_value=50, age=70)
    n = 300
    drafts = mixed(n, unique=True)
    monkeypatch.setattr(mappings.dosing, "_PRODUCTS", Memo(max_bytes=1 << 20, max_key_chars=1000))
    counts: Counter[str] = Counter()
    for name in ("_read_text", "parse_strengths"):
        real = getattr(mappings.dosing, name)

        def counted(*args, _real=real, _name=name):
            counts[_name] += isinstance(args[0], str)
            return _real(*args)

        monkeypatch.setattr(mappings.dosing, name, counted)
    answer(p, drafts)
    assert counts["parse_strengths"] == len(MIX)
    assert n <= counts["_read_text"] <= n + len(MIX)


def doses(n: int, product: tuple[str, str, str] = MIX[0]) -> dict[str, Any]:
    """`n` drafts of one product, each with a daily dose of its own: none alike to the checks."""
    code, name, _ = product
    return bundle([draft(i, code, name, f"{1 + i / 100:.2f} mg by mouth daily") for i in range(n)])


def test_as_many_different_drafts_as_a_call_may_check_are_answered():
    p = profile(egfr_value=50, age=70)
    found = check(answer(p, doses(MAX_CHECKED_ORDERS)))
    assert kinds(found)  # the tizanidine drafts' cards, folded past MAX_CARDS_PER_KIND


def test_more_different_drafts_than_a_call_may_check_are_refused_whole():
    p = profile(egfr_value=50, age=70)
    with pytest.raises(TooManyOrders) as refused:
        answer(p, doses(MAX_CHECKED_ORDERS + 1))
    assert f"{MAX_CHECKED_ORDERS:,}" in str(refused.value)
    assert "smaller sets" in str(refused.value)


def test_drafts_alike_past_the_first_few_do_not_count_toward_the_checks():
    p = profile(egfr_value=50, age=70)
    # every draft alike to one of a few: thousands of drafts, a few dozen checked in full
    assert check(answer(p, mixed(4 * MAX_CHECKED_ORDERS, unique=True)))
