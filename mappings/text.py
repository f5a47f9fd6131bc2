"""Whole-word phrase matching for concepts that have no verified code (and for uncoded text).

Phrases are written for informaticists, not as regular expressions: words separated by spaces,
`..` for "up to three words in between", a trailing `*` for "any word ending", hyphens optional
("X-ray" also matches "xray" and "x ray"). A word in capitals (MS, CBT, HIV) matches
case-sensitively, so acronyms do not fire on ordinary words. Each concept compiles to one regex,
and a cheap word-set check picks the few concepts worth searching, which keeps uncoded text fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_WORD = re.compile(r"[a-z0-9]+")
_GAP = r"(?:\W+\w+){0,3}\W+"
_SEP = r"\W+"
# Words that, shortly before a match, say the finding is absent or to be avoided.
_NEGATION = re.compile(
    r"\b(?:no|not|non|denies|denied|deny|without|negative\s+for|avoid\w*|never|free\s+of|"
    r"absence\s+of|ruled\s+out|do\s+not|don't|instead\s+of)\b(?:\s+[\w'-]+){0,2}\s*$",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[.;:,!?()\n]")
_LOOKBEHIND_CHARS = 40


class PhraseError(ValueError):
    """A phrase that cannot be compiled (empty, or `..` in the wrong place)."""


def _word_regex(word: str) -> str:
    star = word.endswith("*")
    core = word[:-1] if star else word
    if not core:
        raise PhraseError(f"empty word in phrase near {word!r}")
    parts = [re.escape(p) for p in core.split("-")]
    body = r"[\s\-]?".join(parts)
    if star:
        body += r"\w*"
    letters = core.replace("-", "")
    if len(letters) >= 2 and letters.isalpha() and letters.isupper():
        return f"(?-i:{body})"
    return body


def compile_phrase(phrase: str) -> str:
    """One phrase -> a regex fragment (without word boundaries)."""
    words = phrase.split()
    if not words or words[0] == ".." or words[-1] == "..":
        raise PhraseError(f"bad phrase {phrase!r}")
    out: list[str] = []
    gap = False
    for word in words:
        if word == "..":
            if gap:
                raise PhraseError(f"two gaps in a row in {phrase!r}")
            gap = True
            continue
        if out:
            out.append(_GAP if gap else _SEP)
        out.append(_word_regex(word))
        gap = False
    return "".join(out)


def _anchors(phrase: str) -> tuple[set[str], set[str]]:
    """Words of which at least one must occur for the phrase to match: (exact, stems)."""
    exact: set[str] = set()
    stems: set[str] = set()
    best = max((w for w in phrase.split() if w != ".."), key=lambda w: len(w.rstrip("*")))
    star = best.endswith("*")
    pieces = _WORD.findall(best.rstrip("*").lower())
    if not pieces:
        return exact, stems
    longest = max(pieces, key=len)
    # A hyphenated word may be written joined ("xray"): fall back to its stem.
    if star or len(pieces) > 1:
        stems.add(pieces[0] if len(pieces) > 1 else longest)
    else:
        exact.add(longest)
    return exact, stems


def split_phrases(cell: str) -> list[str]:
    return [p.strip() for p in cell.split("|") if p.strip()]


@dataclass(frozen=True, slots=True)
class _ConceptText:
    concept: str
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None


def _alternation(phrases: Iterable[str]) -> re.Pattern[str]:
    body = "|".join(compile_phrase(p) for p in phrases)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


class TextMatcher:
    """Finds concept phrases in free text."""

    def __init__(self, phrases: dict[str, tuple[list[str], list[str]]]) -> None:
        """`phrases`: concept id -> (phrases, unless-phrases)."""
        self._entries: list[_ConceptText] = []
        self._by_word: dict[str, list[int]] = {}
        self._by_stem: dict[str, list[int]] = {}
        for concept, (found, unless) in phrases.items():
            if not found:
                continue
            index = len(self._entries)
            self._entries.append(
                _ConceptText(concept, _alternation(found), _alternation(unless) if unless else None)
            )
            for phrase in found:
                exact, stems = _anchors(phrase)
                for word in exact:
                    self._by_word.setdefault(word, []).append(index)
                for stem in stems:
                    self._by_stem.setdefault(stem, []).append(index)
        self._stem_lengths = sorted({len(s) for s in self._by_stem})
        self._cache: dict[str, tuple[tuple[str, str], ...]] = {}

    def find(self, text: str) -> tuple[tuple[str, str], ...]:
        """(concept, matched words) for each concept found in `text`, negated mentions skipped."""
        if not text:
            return ()
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        result = self._find(text)
        if len(self._cache) < 20_000:
            self._cache[text] = result
        return result

    def _find(self, text: str) -> tuple[tuple[str, str], ...]:
        words = set(_WORD.findall(text.lower()))
        candidates: set[int] = set()
        by_word, by_stem, lengths = self._by_word, self._by_stem, self._stem_lengths
        for word in words:
            hits = by_word.get(word)
            if hits:
                candidates.update(hits)
            for length in lengths:
                if length > len(word):
                    break
                hits = by_stem.get(word[:length])
                if hits:
                    candidates.update(hits)
        if not candidates:
            return ()
        found: list[tuple[str, str]] = []
        for index in sorted(candidates):
            entry = self._entries[index]
            for match in entry.pattern.finditer(text):
                if _negated(text, match.start()):
                    continue
                if entry.unless is not None and entry.unless.search(text):
                    break
                found.append((entry.concept, match.group(0)))
                break
        return tuple(found)


def _negated(text: str, start: int) -> bool:
    """True when a negation word closely precedes `start` within the same clause."""
    before = text[max(0, start - _LOOKBEHIND_CHARS) : start]
    ends = list(_CLAUSE_END.finditer(before))
    if ends:
        before = before[ends[-1].end() :]
    return bool(_NEGATION.search(before))
