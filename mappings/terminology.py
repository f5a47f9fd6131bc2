"""The indexed value sets: concepts, codes by system, RxNorm products and drug names.

Built by `mappings.loader` from the files in `mappings/data/`; read-only afterwards, so one
instance is shared by every request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from pathlib import Path
from sys import getsizeof
from typing import Final

from mappings.knowledge import Knowledge
from mappings.memo import Memo
from mappings.text import REMEMBER_TEXT_UP_TO, NameFinder, TextMatcher, bounded_text

# Bytes of answers kept by `Terminology.lookup` (codes as a caller wrote them) and by
# `drug_mentions` (drug texts): both are keyed on what callers send.
_LOOKUPS_BYTES = 4 * 1024 * 1024
_DRUG_MENTIONS_BYTES = 2 * 1024 * 1024


class _Unknown(Enum):
    """Not remembered (a remembered lookup may be None)."""

    UNKNOWN = 0


_UNKNOWN: Final = _Unknown.UNKNOWN


def normalise_code(code: str) -> str:
    """Codes compare upper-case without dots, so `M54.50`, `m5450` and `M5450` are one code."""
    return code.strip().upper().replace(".", "")


@dataclass(frozen=True, slots=True)
class Concept:
    id: str
    category: str
    label: str
    implies: tuple[str, ...] = ()

    @property
    def is_red_flag(self) -> bool:
        return self.category in ("hard_red_flag", "risk_factor")


@dataclass(frozen=True, slots=True)
class ConceptContext:
    """How a concept's Conditions are read beyond the code (`context.csv`)."""

    statuses: frozenset[str] | None = None  # clinical statuses that count; None: the default
    window_days: int | None = None  # counts only while this recent
    new_within_days: int | None = None  # "new" (cauda equina inference) only this recently
    initial_encounter: bool = False  # ICD-10-CM injury: 7th character A or B only
    text_always: bool = False  # words read even when a code matched
    on_relapse: str | None = None  # concept added when clinicalStatus is relapse/recurrence


@dataclass(frozen=True, slots=True)
class CodeEntry:
    """One row of a value set."""

    concept: str
    system: str  # canonical URL
    code: str  # as written in the file
    match: str  # "exact" or "prefix"
    display: str
    confirmed: str
    source: str
    file: str
    row: int


@dataclass(frozen=True, slots=True)
class Source:
    file: str
    source: str
    version: date


@dataclass(slots=True)
class Terminology:
    """Indexed value sets. Build with `load_terminology()`; treat as read-only."""

    data_dir: Path
    sources: dict[str, Source] = field(default_factory=dict)
    concepts: dict[str, Concept] = field(default_factory=dict)
    systems: dict[str, str] = field(default_factory=dict)  # alias (lower) -> canonical URL
    system_names: dict[str, str] = field(default_factory=dict)  # short name -> URL
    entries: list[CodeEntry] = field(default_factory=list)
    exact: dict[tuple[str, str], CodeEntry] = field(default_factory=dict)
    prefix: dict[str, dict[str, CodeEntry]] = field(default_factory=dict)
    prefix_lengths: dict[str, tuple[int, ...]] = field(default_factory=dict)
    closure: dict[str, tuple[str, ...]] = field(default_factory=dict)  # concept + implied ones
    text: TextMatcher | None = None
    context: dict[str, ConceptContext] = field(default_factory=dict)
    text_always: TextMatcher | None = None  # the words of concepts read even beside a code
    product_ingredients: dict[str, tuple[str, ...]] = field(default_factory=dict)
    product_names: dict[str, str] = field(default_factory=dict)
    product_tty: dict[str, str] = field(default_factory=dict)
    product_dose_forms: dict[str, str] = field(default_factory=dict)  # rxcui -> RxNorm dose form
    product_routes: dict[str, str] = field(default_factory=dict)  # rxcui -> systemic/local/...
    knowledge: Knowledge = field(default_factory=Knowledge)
    ingredient_classes: dict[str, frozenset[str]] = field(default_factory=dict)
    drug_names: NameFinder | None = None
    drug_name_ingredients: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _lookups: Memo[tuple[str, str], CodeEntry | None] = field(
        default_factory=lambda: Memo(max_bytes=_LOOKUPS_BYTES, max_key_chars=300), repr=False
    )
    _system_urls: dict[str, str | None] = field(default_factory=dict, repr=False)
    _drug_mentions: Memo[str, tuple[tuple[str, tuple[str, ...]], ...]] = field(
        default_factory=lambda: Memo(
            max_bytes=_DRUG_MENTIONS_BYTES, max_key_chars=REMEMBER_TEXT_UP_TO
        ),
        repr=False,
    )

    def system_url(self, system: object) -> str | None:
        """The canonical URL for a system as written in data (None when unknown)."""
        if system.__class__ is str:  # remembered as written: a chart names a handful of systems
            try:
                return self._system_urls[system]
            except KeyError:
                pass
        if not isinstance(system, str):
            return None
        url = self.systems.get(system.strip().rstrip("/").lower())
        if system.__class__ is str and len(system) <= 300 and len(self._system_urls) < 1024:
            self._system_urls[system] = url
        return url

    def lookup(self, system: object, code: object) -> CodeEntry | None:
        """The value-set row for a coding: exact match first, then the longest prefix.

        Answers are remembered per (system, code) as written: a chart repeats the same few
        hundred codes, and one dict hit replaces normalising the system and code and walking the
        ICD-10-CM prefix lengths.
        """
        # Only codes of sensible length are remembered, and only so many bytes of them: request
        # data must not grow the memo.
        if system.__class__ is str and code.__class__ is str:
            key = (system, code)
            found = self._lookups.get(key, _UNKNOWN)
            if found is not _UNKNOWN:
                return found
            found = self._lookup(system, code)
            self._lookups.remember(key, found)
            return found
        return self._lookup(system, code)

    def drug_mentions(self, text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(the words, their ingredients) for each drug name found in `text`, in order.

        Reads `bounded_text(text)`. A chart's drug texts repeat from call to call, so answers
        for short texts are remembered.
        """
        found = self._drug_mentions.get(text)
        if found is not None:
            return found
        if self.drug_names is None:
            return ()
        found = tuple(
            (hit.group(0), self.drug_name_ingredients.get(hit.group(0).lower(), ()))
            for hit in self.drug_names.finditer(bounded_text(text))
        )
        # Its own objects: the tuples and the words; the ingredient tuples are the tables'.
        own = getsizeof(found) + sum(getsizeof(hit) + getsizeof(hit[0]) for hit in found)
        self._drug_mentions.remember(text, found, own)
        return found

    def _lookup(self, system: object, code: object) -> CodeEntry | None:
        url = self.system_url(system)
        if url is None or code is None or isinstance(code, bool | dict | list):
            return None
        norm = normalise_code(str(code))
        if not norm:
            return None
        hit = self.exact.get((url, norm))
        if hit is not None:
            return hit
        prefixes = self.prefix.get(url)
        if prefixes:
            for length in self.prefix_lengths[url]:
                if length <= len(norm):
                    hit = prefixes.get(norm[:length])
                    if hit is not None:
                        return hit
        return None

    def label(self, concept: str) -> str:
        found = self.concepts.get(concept)
        return found.label if found else concept

    def codes_for(self, concept: str) -> list[CodeEntry]:
        return [e for e in self.entries if e.concept == concept]
