"""Free text is caller data of any size: only a bounded prefix of each text is read, the reading
tries patterns only where a phrase can begin (operation counts, not timings), answers are kept
only for short texts and only up to a number of bytes, and ordinary texts match as before."""

from __future__ import annotations

import re
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings import classify
from mappings.loader import build_terminology, load_terminology
from mappings.memo import Memo, size_of
from mappings.terminology import Terminology
from mappings.text import (
    MAX_TEXT_CHARS,
    REMEMBER_TEXT_UP_TO,
    NameFinder,
    PhraseError,
    TextMatcher,
    _ConceptText,
    _negated,
    bounded_text,
)

from .builders import TODAY

PADDING = "note " * (MAX_TEXT_CHARS // 5 + 10)  # more than the bound, and no phrase in it


@pytest.fixture
def fresh() -> Terminology:
    """A terminology of its own, so that its memos hold only what the test put in them."""
    return build_terminology(load_terminology().data_dir)


def _statement(text: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": "m1",
        "status": "active",
        "medicationCodeableConcept": {"text": text},
    }


def _memo_bytes(memo: Memo, tables: Terminology | None = None) -> int:
    """What a memo holds, measured: the dict, and every key and answer in it, less the objects
    the answers share with `tables` (a drug name's ingredients), which the memo does not hold."""
    shared: set[int] = set()
    if tables is not None:
        for ingredients in tables.drug_name_ingredients.values():
            shared |= {id(ingredients), *map(id, ingredients)}

    def held(value: object) -> int:
        if id(value) in shared:
            return 0
        if isinstance(value, tuple):
            return sys.getsizeof(value) + sum(map(held, value))
        return size_of(value)

    answers = memo._answers
    return sys.getsizeof(answers) + sum(size_of(k) + held(v) for k, v in answers.items())


# ---- the prefix bound --------------------------------------------------------------------------


def test_a_text_within_the_bound_is_read_whole() -> None:
    text = "x" * MAX_TEXT_CHARS
    assert bounded_text(text) is text


def test_a_long_text_is_read_up_to_the_bound_and_no_further() -> None:
    head = bounded_text(PADDING + "tail")
    assert len(head) <= MAX_TEXT_CHARS
    assert PADDING.startswith(head)
    assert len(head) > MAX_TEXT_CHARS - len("note ")


@pytest.mark.parametrize("inside", range(1, len("painful")))
def test_a_word_across_the_bound_is_not_read_in_part(inside: int) -> None:
    """Were "painful" cut after "pain", the prefix would name a finding the text does not."""
    text = "a" * (MAX_TEXT_CHARS - 1 - inside) + " painful and more"
    head = bounded_text(text)
    assert head == "a" * (MAX_TEXT_CHARS - 1 - inside) + " "
    assert TextMatcher({"c": (["pain"], [])}).find(text) == ()


def test_a_number_across_the_bound_is_not_read_in_part() -> None:
    """ "1,000 mg" cut as "1,0" or "1" would understate a dose."""
    text = "x " * 247 + "take 1,000 mg daily"
    head = bounded_text(text, 500)
    assert head.endswith("take ")


def test_a_text_without_white_space_is_cut_where_a_word_ends() -> None:
    text = "ab/" * 2000
    head = bounded_text(text)
    assert len(head) <= MAX_TEXT_CHARS
    assert head.endswith("/")


def test_a_phrase_beyond_the_bound_is_not_read(term: Terminology) -> None:
    assert term.text is not None
    assert term.text.find("Low back pain " + PADDING) == (("back_pain", "back pain"),)
    assert term.text.find(PADDING + "Low back pain") == ()


def test_what_follows_the_bound_does_not_change_the_answer(term: Terminology) -> None:
    assert term.text is not None
    head = ("MS relapse with spasticity; " * 200)[: MAX_TEXT_CHARS - 100] + " " + PADDING
    tails = ["", " bed rest, IV drug use, fever", " metastatic to spine, saddle anaesthesia"]
    answers = {term.text.find(head + tail) for tail in tails}
    assert answers == {term.text.find(bounded_text(head))}
    assert {c for c, _ in answers.pop()} == {"ms", "spasticity", "ms_relapse"}


def test_a_drug_named_beyond_the_bound_is_not_read(term: Terminology) -> None:
    named_first = classify([_statement("ibuprofen " + PADDING)], today=TODAY, terminology=term)
    named_last = classify([_statement(PADDING + "ibuprofen")], today=TODAY, terminology=term)
    assert [m.ingredients for m in named_first.meds] == [("ibuprofen",)]
    assert not named_last.meds
    assert term.drug_mentions(PADDING + "ibuprofen") == ()


def test_a_long_text_is_quoted_only_as_far_as_it_is_read(term: Terminology) -> None:
    """The evidence (which the cards quote) holds the part read, not the megabytes sent."""
    condition = {"resourceType": "Condition", "id": "c1", "code": {"text": "MS " + PADDING * 20}}
    drug = _statement("ibuprofen " + PADDING * 20)
    profile = classify([condition, drug], today=TODAY, terminology=term)
    assert [e.display for e in profile.ms] == [bounded_text(condition["code"]["text"])]
    (med,) = profile.meds
    assert len(med.display) <= MAX_TEXT_CHARS
    assert len(med.evidence.display) <= MAX_TEXT_CHARS


# ---- patterns are tried only where a phrase can begin -------------------------------------------


class _Counted:
    """A compiled pattern that counts the positions it is tried at."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.tries = 0

    def match(self, text: str, pos: int = 0) -> re.Match[str] | None:
        self.tries += 1
        return self.pattern.match(text, pos)


def _counted(matcher: TextMatcher, monkeypatch: pytest.MonkeyPatch) -> dict[str, _Counted]:
    """Each concept's pattern of `matcher`, counting its tries (until the test ends)."""
    counted = {entry.concept: _Counted(entry.pattern) for entry in matcher._entries}
    entries = [
        _ConceptText(entry.concept, counted[entry.concept], entry.unless)  # type: ignore[arg-type]
        for entry in matcher._entries
    ]
    monkeypatch.setattr(matcher, "_entries", entries)
    return counted


def test_a_concept_is_tried_only_at_words_its_phrases_begin_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    matcher = TextMatcher(
        {
            "back": (["back pain", "back .. spasm*"], []),
            "fever": (["fever"], []),
            "xray": (["X-ray .. spine"], []),
        }
    )
    counted = _counted(matcher, monkeypatch)
    assert matcher.find("back " * 500) == ()
    assert counted["back"].tries == 500  # once per word "back", never per character
    assert counted["fever"].tries == counted["xray"].tries == 0
    assert matcher.find("zzz " * 500) == ()
    assert sum(c.tries for c in counted.values()) == 500
    assert matcher.find("chest xray, then x ray of spine") == (("xray", "x ray of spine"),)
    assert counted["xray"].tries == 2  # at "xray" and at "x": both begin with its stem "x"


def test_the_work_on_a_text_is_bounded_by_its_words_not_by_the_concepts(
    term: Terminology, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first words of every concept's phrases, over and over, to the bound: each word is
    tried for the few concepts that can begin there, not every concept at every character."""
    matcher = term.text
    assert matcher is not None
    starts = matcher._starts
    text = bounded_text(" ".join([*sorted(starts.exact), *sorted(starts.stems)]) * 50)
    words = len(re.findall(r"\w+", text))
    # a word is the whole of one first word, and begins with a few stems at most
    per_word = max(map(len, [*starts.exact.values(), *starts.stems.values()]))
    per_word *= 1 + max(map(len, starts.initials.values()))
    counted = _counted(matcher, monkeypatch)
    matcher._find(text)
    tries = sum(c.tries for c in counted.values())
    assert 0 < tries <= words * per_word < len(counted) * len(text)


def test_drug_names_are_tried_only_at_words_a_name_begins_with(term: Terminology) -> None:
    finder = term.drug_names
    assert isinstance(finder, NameFinder)
    counted = {word: _Counted(pattern) for word, pattern in finder._patterns.items()}
    counting = NameFinder(())
    counting._patterns = counted  # type: ignore[assignment]
    assert list(counting.finditer("zzz " * 1000)) == []
    assert sum(c.tries for c in counted.values()) == 0
    assert len(list(counting.finditer("ibuprofen then " * 300))) == 300
    assert sum(c.tries for c in counted.values()) == 300  # at each "ibuprofen" only


def test_a_phrase_must_begin_with_a_word() -> None:
    with pytest.raises(PhraseError):
        TextMatcher({"c": (["(MS)"], [])})
    with pytest.raises(PhraseError):
        NameFinder(["-dex"])


# ---- memos: short texts only, bytes bounded ----------------------------------------------------


def test_long_texts_are_not_remembered(fresh: Terminology) -> None:
    assert fresh.text is not None
    long_texts = [f"{i} chronic low back pain " + "x" * REMEMBER_TEXT_UP_TO for i in range(300)]
    for text in long_texts:
        assert fresh.text.find(text) == (("back_pain", "back pain"),)
        fresh.drug_mentions("ibuprofen " + text)
        fresh.knowledge.route_of_words(["ibuprofen gel " + text * 2], ["ibuprofen"])
    assert len(fresh.text._memo) == 0
    assert len(fresh._drug_mentions) == 0
    assert len(fresh.knowledge._routes_said) == 0
    short = "chronic low back pain"
    fresh.text.find(short)
    assert short in fresh.text._memo


def test_memo_bytes_stay_under_the_cap_after_many_unique_texts(fresh: Terminology) -> None:
    matcher = fresh.text
    assert matcher is not None
    memo = matcher._memo
    sent = 0
    for i in range(12_000):
        text = f"patient {i:06d} back pain " + "x" * 200
        sent += sys.getsizeof(text)
        matcher.find(text)
        fresh.drug_mentions(f"ibuprofen {i:06d} " + "y" * 200)
    assert sent > memo.max_bytes
    for kept in (memo, fresh._drug_mentions):
        assert 0 < len(kept) < 12_000
        assert kept.used_bytes <= kept.max_bytes
        assert _memo_bytes(kept, fresh) <= kept.max_bytes
    newest = f"patient {11_999:06d} back pain " + "x" * 200
    assert newest in memo  # the oldest answers went first


def test_code_lookups_stay_under_the_cap(fresh: Terminology) -> None:
    for i in range(30_000):
        fresh.lookup("http://snomed.info/sct", f"{i:012d}")
    memo = fresh._lookups
    assert 0 < len(memo) < 30_000
    assert _memo_bytes(memo) <= memo.max_bytes
    assert fresh.lookup("http://snomed.info/sct", "279039007") is not None  # still answers


def test_rows_per_drug_stay_under_the_cap(fresh: Terminology) -> None:
    """A drug is whatever ingredients a caller's text names, in any order: many distinct ones."""
    knowledge = fresh.knowledge
    names = sorted(fresh.ingredient_classes)
    for i in range(3_000):
        drug = tuple(names[(i * 7 + k * 13) % len(names)] for k in range(1 + i % 40))
        classes = frozenset(c for n in drug for c in fresh.ingredient_classes[n])
        knowledge.interactions_for(drug, classes)
        knowledge.partners_of(drug, classes)
        knowledge.state_rules_for(drug, classes)
    memo = knowledge._for
    assert 0 < len(memo) < 9_000
    assert _memo_bytes(memo) <= memo.max_bytes


def test_a_memo_keeps_no_long_key_and_drops_the_oldest_when_full() -> None:
    memo: Memo[str, str | None] = Memo(max_bytes=4_000, max_key_chars=20)
    memo.remember("x" * 21, "long")
    assert len(memo) == 0
    for i in range(100):
        memo.remember(f"key {i}", None)
    assert memo.used_bytes <= 4_000
    assert "key 0" not in memo
    assert "key 99" in memo
    assert memo.get("key 99", "missing") is None  # a remembered None is an answer


# ---- ordinary texts match as before --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Chronic low back pain", (("back_pain", "back pain"),)),
        ("Low back pain, no fever", (("back_pain", "back pain"),)),
        ("No back pain", ()),
        (
            "Relapsing-remitting multiple sclerosis",
            (("ms", "multiple sclerosis"), ("ms_rrms", "Relapsing-remitting multiple sclerosis")),
        ),
        (
            "MS relapse with spasticity",
            (("ms", "MS"), ("spasticity", "spasticity"), ("ms_relapse", "MS relapse")),
        ),
        ("ms relapse", ()),
        (
            "History of breast cancer, metastatic to spine",
            (
                ("spinal_malignancy", "metastatic to spine"),
                ("cancer_history", "History of breast cancer"),
            ),
        ),
        ("x ray of the lumbar spine", (("spine_imaging", "x ray of the lumbar"),)),
        ("Patient denies fever or weight loss", ()),
        ("bed rest for 2 days", (("bed_rest", "bed rest"),)),
    ],
)
def test_ordinary_texts_match_as_before(term: Terminology, text: str, found: tuple) -> None:
    assert term.text is not None
    assert term.text.find(text) == found


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("ibuprofen 400 MG Oral Tablet", (("ibuprofen", ("ibuprofen",)),)),
        ("Tylenol with Codeine #3", (("Tylenol with Codeine", ("acetaminophen", "codeine")),)),
        ("Take ADVIL as needed", (("ADVIL", ("ibuprofen",)),)),
        ("ibuprofenamide", ()),
        (
            "acetaminophen/hydrocodone",
            (("acetaminophen", ("acetaminophen",)), ("hydrocodone", ("hydrocodone",))),
        ),
    ],
)
def test_ordinary_drug_texts_match_as_before(term: Terminology, text: str, found: tuple) -> None:
    assert term.drug_mentions(text) == found


def _vocabulary(term: Terminology) -> list[str]:
    assert term.text is not None
    words = {w for name in term.drug_name_ingredients for w in name.split()}
    for entry in term.text._entries:
        for pattern in (entry.pattern, entry.unless):
            if pattern is not None:
                words.update(re.findall(r"[A-Za-z]{2,}", pattern.pattern))
    words.update(["no", "not", "denies", "history", "of", "x", "ray", "s", "ſpasm"])
    return sorted(words)


_TERM = load_terminology()
_WORDS = _vocabulary(_TERM)
_NAMES = "|".join(
    re.escape(n).replace(r"\ ", r"\s+")
    for n in sorted(_TERM.drug_name_ingredients, key=len, reverse=True)
)
_ONE_ALTERNATION = re.compile(rf"(?<!\w)(?:{_NAMES})(?!\w)", re.IGNORECASE)
_SEPARATORS = [" ", " ", "  ", ", ", ". ", "-", "/", "; ", "\n", " (", ") ", "_", ""]
_texts = st.lists(
    st.tuples(
        st.sampled_from(_WORDS),
        st.sampled_from(["", "upper", "title"]),
        st.sampled_from(_SEPARATORS),
    ),
    max_size=40,
).map(
    lambda parts: "".join(
        (w.upper() if case == "upper" else w.title() if case == "title" else w) + sep
        for w, case, sep in parts
    )
)


@given(_texts)
def test_drug_names_are_found_as_one_alternation_of_them_all_finds_them(text: str) -> None:
    assert _TERM.drug_names is not None
    found = [(m.start(), m.group()) for m in _TERM.drug_names.finditer(text)]
    assert found == [(m.start(), m.group()) for m in _ONE_ALTERNATION.finditer(text)]


@given(_texts)
def test_concepts_are_found_as_each_concepts_pattern_over_the_whole_text_finds_them(
    text: str,
) -> None:
    matcher = _TERM.text
    assert matcher is not None
    expected: list[tuple[str, str]] = []
    for entry in matcher._entries:
        for match in entry.pattern.finditer(text):
            if _negated(text, match.start()):
                continue
            if entry.unless is not None and entry.unless.search(text):
                break
            expected.append((entry.concept, match.group(0)))
            break
    assert matcher._find(text) == tuple(expected)
