"""Whole-word phrase matching for concepts that have no verified code (and for uncoded text).

Phrases are written for informaticists, not as regular expressions: words separated by spaces,
`..` for "up to three words in between", a trailing `*` for "any word ending", hyphens optional
("X-ray" also matches "xray" and "x ray"). A word in capitals (MS, CBT, HIV) matches
case-sensitively, so acronyms do not fire on ordinary words. Each concept compiles to one regex.

Free text is caller data of any size, so it is read in time linear in its length, and only so
much of it: the first `MAX_TEXT_CHARS` characters of any one text (`bounded_text`), and within a
hook call no more than its budget (`mappings.text_budget`). Each word of
the text is looked up in a dictionary of the words phrases begin with, and a concept's regex is
tried only where one of its phrases can begin, rather than run over the whole text once per
concept. Drug names (`NameFinder`) are found the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain

from mappings.memo import Memo
from mappings.text_budget import charge

# Characters read of any one free text. What decides a concept or names a drug is short: the
# longest RxNorm product name is under 400 characters and a condition's text is a phrase or
# two; four thousand characters is a page of notes, and reading no further bounds the cost of
# any one text whatever its size.
MAX_TEXT_CHARS = 4_096
# Texts up to this long have their answers remembered (a chart's texts repeat from call to
# call); longer free text is read each time and never kept.
REMEMBER_TEXT_UP_TO = 256
_REMEMBERED_BYTES = 2 * 1024 * 1024  # per matcher
_FEW_FIRST_WORDS = 32  # a matcher whose phrases begin with no more words has `_any_start`

_RUN = re.compile(r"\w+")
_NON_SPACE = re.compile(r"\S*")
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
# The letters that equal an ASCII letter only under the regex engine's IGNORECASE (dotted and
# dotless i, long s, the kelvin sign): `fold` writes them as that letter.
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


class PhraseError(ValueError):
    """A phrase that cannot be compiled (empty, or `..` in the wrong place)."""


def bounded_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """The part of `text` that is read: all of it up to `limit` characters, else its first
    `limit` characters up to the last white space, so that no word or number is cut in two (a
    cut one could read as another: "ibuprofenamide", "1,000 mg"); a text without white space is
    cut at the end of a word."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    if text[limit].isspace():
        return head
    backwards = head[::-1]
    token = _NON_SPACE.match(backwards)  # the end of the token the limit falls in
    cut = token.end() if token else 0
    if cut == limit:
        word = _RUN.match(backwards) if _RUN.match(text, limit) else None
        cut = word.end() if word else 0
    return head[: limit - cut]


def fold(text: str) -> str:
    """`text` in lower case as IGNORECASE compares it to ASCII phrases, every offset kept."""
    return text.lower() if text.isascii() else text.translate(_FOLD).lower()


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
    if _RUN.match(words[0]) is None:  # matches are looked for where a word begins
        raise PhraseError(f"a phrase must begin with a letter or a digit: {phrase!r}")
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


def split_phrases(cell: str) -> list[str]:
    return [p.strip() for p in cell.split("|") if p.strip()]


class _Starts:
    """Which patterns can begin at a word of a text: by the word itself ("back"), or by a stem
    the word begins with ("spasm*", and "x" of "X-ray", which may be written "xray")."""

    __slots__ = ("exact", "initials", "stems")

    def __init__(self) -> None:
        self.exact: dict[str, list[int]] = {}
        self.stems: dict[str, list[int]] = {}
        self.initials: dict[str, tuple[str, ...]] = {}  # first letter -> the stems it begins

    def add(self, word: str, slot: int) -> None:
        """Pattern `slot` has a phrase that begins with `word` (as written in the data)."""
        star = word.endswith("*")
        core = fold(word[:-1] if star else word)
        first = _RUN.match(core)
        if first is None:
            raise PhraseError(f"a phrase must begin with a letter or a digit, not {word!r}")
        key = first.group()
        table = self.stems if star or key != core else self.exact
        slots = table.setdefault(key, [])
        if slot not in slots:
            slots.append(slot)
        self.initials = {}
        for stem in self.stems:
            self.initials[stem[0]] = (*self.initials.get(stem[0], ()), stem)

    def where(self, folded: str) -> dict[int, list[int]]:
        """Pattern slot -> the offsets, in order, of the words of `folded` it can begin at."""
        exact, stems, initials = self.exact, self.stems, self.initials
        wanted: dict[str, list[int]] = {}
        for word in set(_RUN.findall(folded)):
            found = exact.get(word, [])
            for stem in initials.get(word[0], ()):
                if word.startswith(stem):
                    found = list(dict.fromkeys([*found, *stems[stem]]))
            if found:
                wanted[word] = found
        if not wanted:
            return {}
        offsets: dict[str, list[int]] = {word: [] for word in wanted}
        for run in _RUN.finditer(folded):
            at = offsets.get(run.group())
            if at is not None:
                at.append(run.start())
        by_slot: dict[int, list[list[int]]] = {}
        for word, slots in wanted.items():
            for slot in slots:
                by_slot.setdefault(slot, []).append(offsets[word])
        return {
            slot: lists[0] if len(lists) == 1 else sorted(chain.from_iterable(lists))
            for slot, lists in by_slot.items()
        }


def _matches(pattern: re.Pattern[str], text: str, starts: Iterable[int]) -> Iterator[re.Match[str]]:
    """What `pattern.finditer(text)` finds, given (in order) every offset a match can begin at:
    the pattern is tried at those offsets only."""
    end = 0
    for at in starts:
        if at >= end and (match := pattern.match(text, at)) is not None:
            end = match.end()
            yield match


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

    def __init__(
        self,
        phrases: dict[str, tuple[list[str], list[str]]],
        *,
        remember_bytes: int = _REMEMBERED_BYTES,
    ) -> None:
        """`phrases`: concept id -> (phrases, unless-phrases); `remember_bytes`: of answers kept
        for short texts (0: none)."""
        self._phrases = phrases
        self._only: dict[frozenset[str], TextMatcher] = {}
        self._entries: list[_ConceptText] = []
        # A concept's phrases are pattern slot 2 * its index, its unless-phrases 2 * index + 1.
        self._starts = _Starts()
        for concept, (found, unless) in phrases.items():
            if not found:
                continue
            index = len(self._entries)
            self._entries.append(
                _ConceptText(concept, _alternation(found), _alternation(unless) if unless else None)
            )
            for phrase in found:
                self._starts.add(phrase.split()[0], 2 * index)
            for phrase in unless:
                self._starts.add(phrase.split()[0], 2 * index + 1)
        self._memo: Memo[str, tuple[tuple[str, str], ...]] = Memo(
            max_bytes=remember_bytes, max_key_chars=REMEMBER_TEXT_UP_TO if remember_bytes else 0
        )
        # A matcher whose phrases begin with a few words (one made by `only`) first looks for
        # those words as substrings of the text (a match begins with one of them): most texts
        # have none, and then cost a few scans in C. (Many words would cost more than `where`.)
        first = {*self._starts.exact, *self._starts.stems}
        self._first_words: tuple[str, ...] | None = (
            tuple(sorted(w for w in first if not any(v in w for v in first - {w})))
            if 0 < len(first) <= _FEW_FIRST_WORDS
            else None
        )

    def only(self, concepts: frozenset[str]) -> TextMatcher:
        """A matcher for `concepts` alone, built once: it finds in any text what `find` finds of
        those concepts (each concept is looked for on its own), without looking for the others,
        so a caller that reads a few concepts in many unique texts pays for those few. It keeps
        no answers: reading a text for a few phrases costs less than remembering the answer."""
        found = self._only.get(concepts)
        if found is None:
            wanted = {c: both for c, both in self._phrases.items() if c in concepts}
            found = self._only[concepts] = TextMatcher(wanted, remember_bytes=0)
        return found

    def find(self, text: str) -> tuple[tuple[str, str], ...]:
        """(concept, matched words) for each concept found in `text`, negated mentions skipped.

        Reads `bounded_text(text)`; answers for short texts are remembered."""
        if not text:
            return ()
        found = self._memo.get(text)
        if found is None:
            read = bounded_text(text)
            charge(len(read))
            found = self._find(read)
            self._memo.remember(text, found)
        return found

    def _find(self, text: str) -> tuple[tuple[str, str], ...]:
        folded = fold(text)
        if self._first_words is not None:
            for word in self._first_words:
                if word in folded:
                    break
            else:
                return ()
        starts = self._starts.where(folded)
        if not starts:
            return ()
        found: list[tuple[str, str]] = []
        for slot in sorted(s for s in starts if not s & 1):  # in concept order
            entry = self._entries[slot >> 1]
            for match in _matches(entry.pattern, text, starts[slot]):
                if _negated(text, match.start()):
                    continue
                if entry.unless is not None and any(
                    _matches(entry.unless, text, starts.get(slot + 1, ()))
                ):
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


class PhraseSearch:
    """Which of several phrases (written as for `TextMatcher`) a text holds as whole words, each
    tried only where a word of the text can begin it, rather than every phrase at every
    character. Unlike `TextMatcher` it reads the words, not what they assert: a negated mention
    counts. It reads a text given to it whole, uncounted: callers bound what they pass."""

    __slots__ = ("_patterns", "_starts")

    def __init__(self, phrases: Sequence[str]) -> None:
        self._patterns = [_alternation([phrase]) for phrase in phrases]
        self._starts = _Starts()
        for index, phrase in enumerate(phrases):
            self._starts.add(phrase.split()[0], index)

    def found(self, text: str) -> set[int]:
        """The indexes (in the order given) of the phrases `text` holds."""
        patterns = self._patterns
        return {
            index
            for index, offsets in self._starts.where(fold(text)).items()
            if any(patterns[index].match(text, at) for at in offsets)
        }


class NameFinder:
    """Literal names (drug names) found as whole words, in any case, any white space between
    their words: what one alternation of them all, longest first, finds with `finditer`.

    Such an alternation tries every name at every word of the text. Here the names are grouped
    by their first word, and at each word of the text only the names that begin with it are
    tried.
    """

    __slots__ = ("_patterns",)

    def __init__(self, names: Iterable[str]) -> None:
        groups: dict[str, list[str]] = {}
        for name in sorted(names, key=len, reverse=True):
            first = _RUN.match(fold(name))
            if first is None:
                raise PhraseError(f"a name must begin with a letter or a digit, not {name!r}")
            groups.setdefault(first.group(), []).append(re.escape(name).replace(r"\ ", r"\s+"))
        self._patterns = {
            word: re.compile(rf"(?<!\w)(?:{'|'.join(body)})(?!\w)", re.IGNORECASE)
            for word, body in groups.items()
        }

    def first_words(self) -> list[str]:
        """The words names begin with (folded), in no particular order."""
        return list(self._patterns)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """The names in `text`, in order, as `re.finditer` would give them."""
        charge(len(text))
        folded = fold(text)
        patterns = self._patterns
        if patterns.keys().isdisjoint(_RUN.findall(folded)):
            return
        end = 0
        for run in _RUN.finditer(folded):
            at = run.start()
            if at >= end and (pattern := patterns.get(run.group())) is not None:
                match = pattern.match(text, at)
                if match is not None:
                    end = match.end()
                    yield match


__all__ = [
    "MAX_TEXT_CHARS",
    "REMEMBER_TEXT_UP_TO",
    "NameFinder",
    "PhraseError",
    "PhraseSearch",
    "TextMatcher",
    "bounded_text",
    "compile_phrase",
    "fold",
    "split_phrases",
]
