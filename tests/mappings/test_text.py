"""The phrase language of concepts.csv: whole words, gaps, stars, hyphens, acronyms, negation."""

from __future__ import annotations

import re

import pytest

from mappings.text import NameFinder, PhraseError, PhraseSearch, TextMatcher, compile_phrase


def matcher(*phrases: str, unless: tuple[str, ...] = ()) -> TextMatcher:
    return TextMatcher({"c": (list(phrases), list(unless))})


@pytest.mark.parametrize(
    ("phrases", "text", "found"),
    [
        (("back pain",), "Chronic back pain", True),
        (("back pain",), "BACK   PAIN", True),
        (("back pain",), "backpain", False),
        (("back pain",), "back painful", False),
        (("MRI .. lumbar",), "MRI of the lumbar spine", True),
        (("MRI .. lumbar",), "MRI lumbar", True),
        (("MRI .. lumbar",), "MRI of the brain and later the lumbar", False),  # > 3 words apart
        (("spasm*",), "painful spasms", True),
        (("spasm*",), "antispasmodic", False),
        (("X-ray .. spine",), "xray of spine", True),
        (("X-ray .. spine",), "x ray spine", True),
        (("MS",), "MS relapse", True),
        (("MS",), "ms relapse", False),  # acronyms match case-sensitively
        (("MS",), "Teams", False),
        (("bed rest",), "No bed rest please", False),
        (("bed rest",), "Patient denies need for bed rest", False),
        (("bed rest",), "No lifting. Bed rest for 2 days", True),  # negation ends at the clause
        (("bed rest",), "Avoid lifting; bed rest for 2 days", True),
        (("fever",), "no rash, fever since Tuesday", True),
    ],
)
def test_phrases(phrases: tuple[str, ...], text: str, found: bool) -> None:
    assert bool(matcher(*phrases).find(text)) is found


def test_unless_cancels() -> None:
    m = matcher("cancer", unless=("history of",))
    assert m.find("lung cancer") == (("c", "cancer"),)
    assert m.find("history of lung cancer") == ()


def test_returns_matched_words() -> None:
    assert matcher("MRI .. lumbar").find("Order: MRI of the lumbar spine") == (
        ("c", "MRI of the lumbar"),
    )


@pytest.mark.parametrize("phrase", ["", ".. x", "x ..", "x .. .. y", "*"])
def test_bad_phrases(phrase: str) -> None:
    with pytest.raises(PhraseError):
        compile_phrase(phrase)


def test_empty_and_repeated_text() -> None:
    m = matcher("back pain")
    assert m.find("") == ()
    assert m.find("back pain") is m.find("back pain")  # cached


# ---- a matcher for a few concepts (the order hooks read only bed rest in instructions) -------


@pytest.mark.parametrize(
    "text",
    [
        "Strict bed rest for 2 days",
        "bedrest",
        "no bed rest please",
        "confined to bed after the fall",
        "STAY IN BED",
        "take 1 tablet at bedtime",
        "rest, then walk",
        "chronic low back pain, bed rest",
        "",
    ],
)
def test_a_matcher_for_some_concepts_finds_what_the_full_one_finds_of_them(text: str) -> None:
    from mappings.loader import load_terminology

    full = load_terminology().text
    assert full is not None
    wanted = frozenset({"bed_rest", "back_pain"})
    only = full.only(wanted)
    assert only.find(text) == tuple(f for f in full.find(text) if f[0] in wanted)
    assert only is full.only(wanted)  # built once


def test_a_matcher_for_some_concepts_reads_nothing_of_the_others() -> None:
    from mappings.loader import load_terminology

    full = load_terminology().text
    assert full is not None
    only = full.only(frozenset({"bed_rest"}))
    assert {e.concept for e in only._entries} == {"bed_rest"}
    assert only.find("chronic low back pain and multiple sclerosis") == ()
    assert len(only._memo) == 0  # it keeps no answers: reading costs less than remembering


ROUTE_WORDS = ["ear drop*", "topical", "patch", "inhal*", "Lioresal Intrathecal", "X-ray", "MS"]


@pytest.mark.parametrize(
    "text",
    [
        "Ciprofloxacin 0.3% ear drops, 4 drops twice a day",
        "apply a TOPICAL gel; not a patch",
        "no patch",  # the words, not what they assert: a negated mention counts
        "inhaler, inhalation powder",
        "lioresal   intrathecal pump refill",
        "xray of the spine, MS relapse, teams",
        "patches and earring drops",
        "ms",
        "",
    ],
)
def test_a_phrase_search_finds_what_each_phrase_finds_alone(text: str) -> None:
    alone = {
        i
        for i, phrase in enumerate(ROUTE_WORDS)
        if re.search(rf"(?<!\w){compile_phrase(phrase)}(?!\w)", text, re.IGNORECASE)
    }
    assert PhraseSearch(ROUTE_WORDS).found(text) == alone


def test_a_phrase_search_says_which_phrases():
    assert PhraseSearch(ROUTE_WORDS).found("Ear drops; no patch") == {0, 2}
    with pytest.raises(PhraseError):
        PhraseSearch(["ok", ".. bad"])


def test_a_name_finder_says_the_words_its_names_begin_with() -> None:
    finder = NameFinder(["Oxycodone", "oxycodone hydrochloride", "Tylenol with codeine"])
    assert sorted(finder.first_words()) == ["oxycodone", "tylenol"]
