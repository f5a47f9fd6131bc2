"""`fit_summary` and `cut`: summaries under 140 characters, composed to fit, no word cut."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from cards.build import cut
from cards.content import CARDS, LIST_MORE
from cards.summary import fit_summary

LIMIT = 139
WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-/", min_size=1, max_size=14)
TEXT = st.lists(WORD, min_size=1, max_size=40).map(" ".join)


def test_a_summary_that_fits_is_filled_as_it_is():
    template = CARDS["opioid-order"].summaries["cns"]
    found = fit_summary(template, order="oxycodone 5 mg tablet", others=["lorazepam 1 mg tablet"])
    assert found == template.format(order="oxycodone 5 mg tablet", others="lorazepam 1 mg tablet")


def test_names_take_their_shorter_forms_before_any_is_left_out():
    template = CARDS["opioid-order"].summaries["cns"]
    others = [
        ("baclofen 20 mg tablet", "baclofen"),
        ("lorazepam 1 mg tablet", "lorazepam"),
        ("gabapentin 300 mg capsule", "gabapentin"),
    ]
    found = fit_summary(template, order=("oxycodone 5 mg tablet", "oxycodone"), others=others)
    assert "(baclofen, lorazepam, gabapentin)" in found and len(found) <= LIMIT
    assert "oxycodone 5 mg tablet" in found  # the shorter value kept its full form


def test_a_list_too_long_says_how_many_more():
    template = CARDS["opioid-active"].summaries["default"]
    drugs = [f"drug{i} with a fairly long name of {i} words" for i in range(8)]
    found = fit_summary(template, drugs=drugs)
    assert len(found) <= LIMIT
    more = re.search(r" and (\d) more\)", found)
    assert more and found.count(",") + 1 + int(more.group(1)) == 8, found
    assert LIST_MORE.format(names="x", more=1) == "x and 1 more"


def test_a_concern_drops_its_last_aside_then_clauses_before_cutting_words():
    template = CARDS["nsaid-risk"].summaries["default"]
    concern = (
        "avoid (age 74): NSAIDs at 65 or older: GI bleeding and kidney injury (avoid chronic use; "
        "acetaminophen or a topical NSAID instead)"
    )  # the aside's own "; " is not a clause end
    assert fit_summary(template, order="ibuprofen 600 mg tablet", risk=concern) == (
        "NSAID (ibuprofen 600 mg tablet): avoid (age 74): NSAIDs at 65 or older: GI bleeding and "
        "kidney injury; consider acetaminophen instead"
    )
    kidney = (
        "avoid (eGFR 38 mL/min/1.73 m² (2026-10-21)): NSAIDs with reduced kidney function: acute "
        "kidney injury and CKD progression"
    )  # the first clause keeps its bracket: the fact
    assert fit_summary(template, order="ibuprofen 600 mg tablet", risk=kidney) == (
        "NSAID (ibuprofen 600 mg tablet): avoid (eGFR 38 mL/min/1.73 m² (2026-10-21)); consider "
        "acetaminophen instead"
    )
    words = "caution with verapamil " + " ".join(["and many more words"] * 30)
    found = fit_summary(template, order="ibuprofen", risk=words)
    assert found.endswith(" and…; consider acetaminophen instead") and len(found) <= LIMIT


def test_an_order_name_that_cannot_fit_is_left_out_with_its_parentheses():
    template = CARDS["imaging-not-indicated"].summaries["default"]
    found = fit_summary(template, order="X" * 300)
    assert found.startswith("Spine imaging not indicated: no red flags")
    words = fit_summary(template, order=" ".join(["Magnetic resonance imaging lumbar"] * 10))
    assert words.startswith("Spine imaging (Magnetic resonance") and "…)" in words
    assert len(words) <= LIMIT


@given(st.lists(TEXT, min_size=1, max_size=4), TEXT)
def test_no_word_is_ever_cut(names: list[str], text: str):
    template = "On an opioid ({drugs}) with CNS depressants ({others}): {text}"
    found = fit_summary(template, drugs=names[0], others=names, text=text)
    assert len(found) <= LIMIT
    strip = " ,;:/(-–—"
    whole = {w.rstrip(strip) for w in " ".join([*names, text]).split()} | {"and", "more"}
    for before in re.findall(r"(\S*)…", found):
        assert before.rstrip(strip) in whole or before == "", (before, found)


@given(TEXT, st.integers(min_value=10, max_value=200))
def test_cut_ends_after_a_whole_word(text: str, limit: int):
    found = cut(text, limit)
    assert len(found) <= limit
    if found == text:
        return
    kept, words = found.removesuffix("…").split(" "), text.split(" ")
    if len(words[0]) < limit:  # (a first word longer than the limit alone is a token, cut)
        assert kept[:-1] == words[: len(kept) - 1]
        assert kept[-1] == words[len(kept) - 1].rstrip(" ,;:/(-–—")
