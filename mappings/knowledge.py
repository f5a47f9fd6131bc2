"""Medication-safety knowledge as reviewed data: routes, interactions, state rules, dose limits.

Read from `mappings/data/medication_safety/*.csv`, one row per fact, each row citing its source
and review date. Rule code in `cards/` reads these tables and holds no drug lists of its own, so a
clinician reviews the facts here (or in the generated `docs/safety-rules.md`) without reading
Python, and adding a CYP1A2 inhibitor is a one-row change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any, Final

from mappings.datafile import require, reviewed, source_line
from mappings.datafile import rows as read_rows
from mappings.errors import DataError
from mappings.memo import Memo
from mappings.text import PhraseError, PhraseSearch

SEVERITIES = ("contraindicated", "avoid", "caution")
ROUTE_CLASSES = frozenset({"systemic", "local", "intrathecal"})
ROUTE_KINDS = frozenset({"dose_form", "route_code", "word"})
# Derived patient states a table may name besides concept ids (docs/safety-rules.md explains each).
NAMED_STATES = frozenset({"pregnant", "lactating", "dialysis", "adult"})
# The cards that report a contraindicated pair (the `card` column); a test checks each exists.
INTERACTION_CARDS = frozenset({"tizanidine-interaction", "drug-interaction"})


class _Unknown(Enum):
    """Not remembered (a remembered route may be None)."""

    UNKNOWN = 0


_UNKNOWN: Final = _Unknown.UNKNOWN
_MEASURED = re.compile(r"^(age|egfr|pregnancy_weeks)(<|>=)(\d+(?:\.\d+)?)$")
# Only this much of any one text is read for route words: a drug's name is short.
_MAX_TEXT = 500
# Bytes of rows per drug kept: a drug is the ingredients a caller's text names (any number, in
# any order), so even these keys are the caller's to choose.
_ROWS_BYTES = 2 * 1024 * 1024
_ROWS_KEY_CHARS = 1_000
_ROUTES_BYTES = 1024 * 1024  # routes per drug text: keyed on the texts a caller sends
# Rows per drug, as asked: ("pairs", "partners" or "states", ingredients, classes). The first
# item says which answer is remembered; its reader states the answer's type.
_RowsKey = tuple[str, tuple[str, ...], frozenset[str]]


@dataclass(frozen=True, slots=True)
class DrugRef:
    """`ingredient:<name>` or `class:<name>` as written in a table."""

    kind: str  # "ingredient" or "class"
    name: str

    def matches(self, ingredients: Iterable[str], classes: Iterable[str]) -> bool:
        return self.name in (ingredients if self.kind == "ingredient" else classes)

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True, slots=True)
class Condition:
    """One patient-state condition: `age>=65`, `egfr<30`, `pregnant`, or a concept id."""

    name: str  # "age", "egfr", "pregnancy_weeks", a named state or a concept id
    op: str = ""  # "<" or ">=" for measured conditions
    value: float = 0.0

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value:g}" if self.op else self.name


@dataclass(frozen=True, slots=True)
class Row:
    """Where a fact came from: file, line, source and review date."""

    file: str
    line: int
    source: str
    reviewed: date


@dataclass(frozen=True, slots=True)
class Interaction:
    a: DrugRef
    b: DrugRef
    severity: str
    card: str  # the card kind that reports a contraindicated pair, else ""
    not_if: DrugRef | None
    effect: str
    row: Row


@dataclass(frozen=True, slots=True)
class StateRule:
    drug: DrugRef
    state: tuple[Condition, ...]
    severity: str
    effect: str
    row: Row
    # Worked out once at load. `names`: the state names the row needs, so a patient of whom
    # none is known is passed over at the cost of a set test. `kind`: rows of one kind (a drug
    # and the same state names) say the same thing at different strengths, and at eGFR 24 only
    # the eGFR-below-30 row is worth showing; `strictness` orders them (egfr<30 over egfr<60,
    # age>=75 over age>=65).
    names: frozenset[str] = frozenset()
    kind: tuple[str, ...] = ()
    strictness: float = 0.0

    @classmethod
    def of(
        cls, drug: DrugRef, state: tuple[Condition, ...], severity: str, effect: str, row: Row
    ) -> StateRule:
        names = frozenset(c.name for c in state)
        kind = (str(drug), *sorted(names))
        strictness = sum(c.value if c.op == ">=" else -c.value for c in state)
        return cls(drug, state, severity, effect, row, names, kind, strictness)


@dataclass(frozen=True, slots=True)
class DoseLimit:
    ingredient: str
    state: tuple[Condition, ...]  # () for "adult"
    max_mg_per_day: float
    row: Row


@dataclass(frozen=True, slots=True)
class Indication:
    drug: DrugRef
    competing: str  # concept id
    row: Row


@dataclass(frozen=True, slots=True)
class RouteRule:
    kind: str
    value: str
    ingredient: str
    route: str
    row: Row


@dataclass(frozen=True, slots=True)
class KidneyCode:
    concept: str
    egfr_below: float
    overrides: bool
    label: str
    row: Row


@dataclass(frozen=True, slots=True)
class MedicationFinding:
    drug: DrugRef
    concept: str
    row: Row


@dataclass(slots=True)
class Knowledge:
    """The medication-safety tables, validated and indexed."""

    interactions: list[Interaction] = field(default_factory=list)
    state_rules: list[StateRule] = field(default_factory=list)
    dose_limits: list[DoseLimit] = field(default_factory=list)
    indications: list[Indication] = field(default_factory=list)
    routes: list[RouteRule] = field(default_factory=list)
    kidney_codes: list[KidneyCode] = field(default_factory=list)
    medication_findings: list[MedicationFinding] = field(default_factory=list)
    sources: dict[str, tuple[str, date]] = field(default_factory=dict)  # file -> (source, version)
    _dose_forms: dict[tuple[str, str], str] = field(default_factory=dict)
    _route_codes: dict[str, str] = field(default_factory=dict)
    _words: list[tuple[str, str, str]] = field(default_factory=list)  # (phrase, ingredient, route)
    _word_search: PhraseSearch | None = None  # which of the phrases a text holds
    _pairs: dict[tuple[str, str], list[tuple[Interaction, DrugRef, tuple[str, str]]]] = field(
        default_factory=dict
    )
    _states: dict[tuple[str, str], list[StateRule]] = field(default_factory=dict)
    _limits: dict[str, list[DoseLimit]] = field(default_factory=dict)
    _for: Memo[_RowsKey, Any] = field(  # rows per drug, as asked
        default_factory=lambda: Memo(max_bytes=_ROWS_BYTES, max_key_chars=_ROWS_KEY_CHARS)
    )
    classes_of: Mapping[str, frozenset[str]] = field(default_factory=dict)  # ingredient -> classes
    _routes_said: Memo[tuple[tuple[str, ...], tuple[str, ...]], str | None] = field(
        default_factory=lambda: Memo(max_bytes=_ROUTES_BYTES, max_key_chars=_MAX_TEXT)
    )

    def index(self) -> None:
        """Index the rows by the drug they name, so a check reads only the rows of its drug."""
        self._pairs.clear()
        for row in self.interactions:
            a, b = (row.a.kind, row.a.name), (row.b.kind, row.b.name)
            self._pairs.setdefault(a, []).append((row, row.b, b))
            if b != a:
                self._pairs.setdefault(b, []).append((row, row.a, a))
        self._states.clear()
        for rule in self.state_rules:
            self._states.setdefault((rule.drug.kind, rule.drug.name), []).append(rule)
        self._limits.clear()
        for limit in self.dose_limits:
            self._limits.setdefault(limit.ingredient, []).append(limit)
        self._word_search = PhraseSearch([phrase for phrase, _, _ in self._words])

    @property
    def dose_form_names(self) -> tuple[str, ...]:
        """Every dose form the tables know, longest first (for reading them off product names)."""
        return tuple(sorted({f for f, _ in self._dose_forms}, key=len, reverse=True))

    def route_of_form(self, dose_form: str, ingredients: Sequence[str]) -> str | None:
        return _per_ingredient(self._dose_forms, dose_form, ingredients)

    def route_of_code(self, code: str) -> str | None:
        return self._route_codes.get(code.strip())

    def route_of_words(self, texts: Iterable[str], ingredients: Sequence[str]) -> str | None:
        """The route a drug's words say (an ingredient-specific row wins), or None.

        Answers for short texts are remembered: a chart's drug texts repeat from call to call.
        """
        texts = tuple(texts)
        key = (texts, tuple(ingredients))
        found = self._routes_said.get(key, _UNKNOWN)
        if found is _UNKNOWN:
            found = self._route_of_words(texts, ingredients)
            self._routes_said.remember(key, found)
        return found

    def _route_of_words(self, texts: tuple[str, ...], ingredients: Sequence[str]) -> str | None:
        generic: str | None = None
        for text in texts:
            found = self._word_search.found(text[:_MAX_TEXT]) if self._word_search else ()
            if not found:
                continue  # nearly every drug's words say nothing of its route
            for index, (_, ingredient, route) in enumerate(self._words):
                if index not in found or (ingredient and ingredient not in ingredients):
                    continue
                if ingredient:
                    return route
                generic = generic or route
        return generic

    def interactions_for(
        self, ingredients: Sequence[str], classes: Iterable[str]
    ) -> list[tuple[Interaction, DrugRef, tuple[str, str]]]:
        """(row, the other side, its index key) for each interaction row naming the drug, in
        file order."""
        key = ("pairs", tuple(ingredients), frozenset(classes))
        found: list[tuple[Interaction, DrugRef, tuple[str, str]]] | None = self._for.get(key)
        if found is None:
            # A drug on both sides of a row (an MAOI is also serotonergic) is checked against
            # each other side; a row with the same class twice (two NSAIDs) once.
            rows: dict[tuple[int, tuple[str, str]], tuple[Interaction, DrugRef, tuple[str, str]]]
            rows = {}
            for k in _keys(key[1], key[2]):
                for entry in self._pairs.get(k, ()):
                    rows.setdefault((id(entry[0]), entry[2]), entry)
            found = sorted(rows.values(), key=lambda entry: entry[0].row.line)
            self._remember(key, found)
        return found

    def partners_of(
        self, ingredients: Sequence[str], classes: Iterable[str]
    ) -> dict[tuple[str, str], list[Interaction]]:
        """The drug's interaction rows by the other side's key (("class", "opioid")), so a check
        walks the few drugs a patient takes rather than every row of the drug."""
        key = ("partners", tuple(ingredients), frozenset(classes))
        found: dict[tuple[str, str], list[Interaction]] | None = self._for.get(key)
        if found is None:
            by_other: dict[tuple[str, str], list[Interaction]] = {}
            for row, _, other_key in self.interactions_for(key[1], key[2]):
                by_other.setdefault(other_key, []).append(row)
            found = by_other
            self._remember(key, found)
        return found

    def state_rules_for(
        self, ingredients: Sequence[str], classes: Iterable[str]
    ) -> list[StateRule]:
        """The patient-state rows naming the drug (by ingredient or class), in file order."""
        key = ("states", tuple(ingredients), frozenset(classes))
        found: list[StateRule] | None = self._for.get(key)
        if found is None:
            rules = {id(r): r for k in _keys(key[1], key[2]) for r in self._states.get(k, ())}
            found = sorted(rules.values(), key=lambda r: r.row.line)
            self._remember(key, found)
        return found

    def _remember(self, key: _RowsKey, found: list[Any] | dict[Any, Any]) -> None:
        self._for.remember(key, found)

    def limits_for(self, ingredient: str) -> list[DoseLimit]:
        return self._limits.get(ingredient, [])


def _keys(ingredients: Sequence[str], classes: Iterable[str]) -> list[tuple[str, str]]:
    return [*(("ingredient", i) for i in ingredients), *(("class", c) for c in classes)]


def _per_ingredient(
    table: Mapping[tuple[str, str], str], key: str, ingredients: Sequence[str]
) -> str | None:
    for ingredient in ingredients:
        found = table.get((key, ingredient))
        if found is not None:
            return found
    return table.get((key, ""))


class _Checker:
    """Validates the names a row uses against the terminology."""

    def __init__(self, ingredients: set[str], classes: set[str], concepts: set[str]) -> None:
        self.ingredients, self.classes, self.concepts = ingredients, classes, concepts

    def drug(self, file: str, line: int, text: str) -> DrugRef:
        kind, _, name = text.partition(":")
        name = name.strip().lower()
        known = (
            self.ingredients if kind == "ingredient" else self.classes if kind == "class" else None
        )
        if known is None:
            raise DataError(file, line, f"{text!r}: write ingredient:<name> or class:<name>")
        if name not in known:
            raise DataError(file, line, f"unknown {kind} {name!r}")
        return DrugRef(kind, name)

    def state(self, file: str, line: int, text: str) -> tuple[Condition, ...]:
        out: list[Condition] = []
        for part in text.split("&"):
            part = part.strip()
            measured = _MEASURED.match(part)
            if measured:
                out.append(Condition(measured[1], measured[2], float(measured[3])))
            elif part in NAMED_STATES or part in self.concepts:
                out.append(Condition(part))
            else:
                raise DataError(file, line, f"unknown patient state {part!r}")
        return tuple(c for c in out if c.name != "adult")

    def severity(self, file: str, line: int, text: str) -> str:
        if text not in SEVERITIES:
            raise DataError(file, line, f"severity must be one of {', '.join(SEVERITIES)}")
        return text


def load_knowledge(
    directory: Path, ingredients: set[str], classes: set[str], concepts: set[str]
) -> Knowledge:
    """Read and validate the tables in `directory`; raises DataError naming file and line."""
    if not directory.is_dir():
        raise DataError(str(directory), None, "medication-safety directory not found")
    check = _Checker(ingredients, classes, concepts)
    k = Knowledge()

    def rows(name: str, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str], Row]]:
        path = directory / name
        if not path.is_file():
            raise DataError(name, None, f"missing from {directory}")
        require(path, columns)
        k.sources[name] = source_line(path)
        for number, row in read_rows(path):
            yield number, row, Row(name, number, row["source"], reviewed(name, number, row))

    columns: tuple[str, ...] = ("kind", "value", "ingredient", "route", "source", "reviewed")
    for n, r, where in rows("routes.csv", columns):
        if r["kind"] not in ROUTE_KINDS or r["route"] not in ROUTE_CLASSES or not r["value"]:
            raise DataError(where.file, n, "kind, value or route not recognised")
        ingredient = r["ingredient"].lower()
        if ingredient and ingredient not in ingredients:
            raise DataError(where.file, n, f"unknown ingredient {ingredient!r}")
        rule = RouteRule(r["kind"], r["value"], ingredient, r["route"], where)
        k.routes.append(rule)
        if rule.kind == "dose_form":
            k._dose_forms[(rule.value, ingredient)] = rule.route
        elif rule.kind == "route_code":
            k._route_codes[rule.value] = rule.route
        else:
            try:
                PhraseSearch([rule.value])
            except (PhraseError, re.error) as exc:
                raise DataError(where.file, n, f"bad phrase {rule.value!r}: {exc}") from exc
            k._words.append((rule.value, ingredient, rule.route))

    columns = ("a", "b", "severity", "card", "not_if", "effect", "source", "reviewed")
    for n, r, where in rows("interactions.csv", columns):
        severity = check.severity(where.file, n, r["severity"])
        if (severity == "contraindicated") != bool(r["card"]):
            raise DataError(where.file, n, "card is required for, and only for, contraindicated")
        if r["card"] and r["card"] not in INTERACTION_CARDS:
            raise DataError(where.file, n, f"unknown card kind {r['card']!r}")
        not_if = check.drug(where.file, n, r["not_if"]) if r["not_if"] else None
        a, b = check.drug(where.file, n, r["a"]), check.drug(where.file, n, r["b"])
        k.interactions.append(Interaction(a, b, severity, r["card"], not_if, r["effect"], where))

    columns = ("drug", "state", "severity", "effect", "source", "reviewed")
    for n, r, where in rows("contraindications.csv", columns):
        k.state_rules.append(
            StateRule.of(
                check.drug(where.file, n, r["drug"]),
                check.state(where.file, n, r["state"]),
                check.severity(where.file, n, r["severity"]),
                r["effect"],
                where,
            )
        )

    columns = ("ingredient", "state", "max_mg_per_day", "source", "reviewed")
    for n, r, where in rows("dose_limits.csv", columns):
        ingredient = r["ingredient"].lower()
        if ingredient not in ingredients:
            raise DataError(where.file, n, f"unknown ingredient {ingredient!r}")
        try:
            limit = float(r["max_mg_per_day"])
        except ValueError:
            limit = -1.0
        if not limit > 0:
            raise DataError(where.file, n, "max_mg_per_day must be a positive number")
        state = check.state(where.file, n, r["state"])
        k.dose_limits.append(DoseLimit(ingredient, state, limit, where))

    columns = ("concept", "egfr_below", "overrides_egfr", "label", "source", "reviewed")
    for n, r, where in rows("kidney_codes.csv", columns):
        if r["concept"] not in concepts or r["overrides_egfr"] not in ("yes", "no"):
            raise DataError(where.file, n, "unknown concept, or overrides_egfr not yes/no")
        try:
            bound = float(r["egfr_below"])
        except ValueError as exc:
            raise DataError(where.file, n, "egfr_below must be a number") from exc
        k.kidney_codes.append(
            KidneyCode(r["concept"], bound, r["overrides_egfr"] == "yes", r["label"], where)
        )

    for n, r, where in rows("indications.csv", ("drug", "competing", "source", "reviewed")):
        if r["competing"] not in concepts:
            raise DataError(where.file, n, f"unknown concept {r['competing']!r}")
        k.indications.append(
            Indication(check.drug(where.file, n, r["drug"]), r["competing"], where)
        )
    for n, r, where in rows("medication_findings.csv", ("drug", "concept", "source", "reviewed")):
        if r["concept"] not in concepts:
            raise DataError(where.file, n, f"unknown concept {r['concept']!r}")
        drug = check.drug(where.file, n, r["drug"])
        k.medication_findings.append(MedicationFinding(drug, r["concept"], where))
    k.index()
    return k


__all__ = [
    "INTERACTION_CARDS",
    "SEVERITIES",
    "Condition",
    "DoseLimit",
    "DrugRef",
    "Indication",
    "Interaction",
    "KidneyCode",
    "Knowledge",
    "MedicationFinding",
    "RouteRule",
    "StateRule",
    "load_knowledge",
]
