"""Maximum daily dose, in mg per ingredient, that a MedicationRequest/Statement's dosage allows.

Structure first (doseAndRate, timing, maxDosePerPeriod), then the instructions' text for what the
structure leaves out. Anything unclear gives None: a dose check should say nothing rather than
guess. Pure and lenient: never raises, reads a bounded prefix of every list and text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Any, TypeGuard

from mappings.memo import Memo
from mappings.profile import DailyDose, Medication
from mappings.text import bounded_text

__all__ = ["DailyDose", "Strength", "daily_dose", "dose_of", "parse_strengths"]

_MAX_TEXT = 500  # characters read of any one text or product name
_MAX_ITEMS = 50  # entries read of any one list
_CAP = 1e6  # larger doses, strengths or frequencies are data errors, not prescriptions
_PRODUCTS_BYTES = 512 * 1024  # products read, remembered (`dose_of`)


@dataclass(frozen=True, slots=True)
class Strength:
    """mg per dose unit (tablet, capsule, patch...), or mg per mL when `per_ml`."""

    amount: float
    per_ml: bool = False


def _num(value: Any) -> float | None:
    """A finite, positive, plausible number (FHIR decimals only: strings and booleans are not)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    try:
        x = float(value)
    except (OverflowError, ValueError):
        return None
    return x if 0 < x <= _CAP else None  # NaN fails both comparisons


def _is_map(value: Any) -> TypeGuard[Mapping[str, Any]]:
    """isinstance(value, Mapping), without the ABC's check for the dicts JSON gives."""
    return value.__class__ is dict or (value is not None and isinstance(value, Mapping))


def _names(ingredients: Any) -> list[str]:
    items = [ingredients] if isinstance(ingredients, str) else ingredients
    items = list(items)[:_MAX_ITEMS] if isinstance(items, Sequence | set | frozenset) else []
    return list(dict.fromkeys(" ".join(i.lower().split()) for i in items if isinstance(i, str)))


def _table(*groups: tuple[Any, str]) -> dict[str, Any]:
    """("x", "a b c") -> {"a": "x", "b": "x", "c": "x"}: keeps the vocabularies readable."""
    return {word: value for value, words in groups for word in words.split()}


# ---- strengths from RxNorm names ------------------------------------------------------------

_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_PACK_PART = re.compile(r"\(([^()]*)\)")
_STRENGTH_UNITS = {"MG": (1.0, False), "MCG": (1e-3, False), "G": (1e3, False)}
_STRENGTH_UNITS["MG/ML"] = (1.0, True)  # MG/MG, MG/HR, UNT, %...: not an amount per unit


def _component(text: str, names: list[str]) -> tuple[str, Strength] | None:
    """ "hydrocodone bitartrate 5 MG" -> ("hydrocodone", 5 mg); None for MG/MG, MG/HR, UNT, %..."""
    tokens = text.split()
    if len(tokens) > 2 and _NUMBER.fullmatch(tokens[0]):
        tokens = tokens[2:]  # a quantity or duration before the name: "20 ML", "12 HR"
    k = next((k for k, t in enumerate(tokens) if _NUMBER.fullmatch(t)), 0)
    name = " ".join(tokens[:k]).lower()
    matches = [n for n in names if name == n or name.startswith(n + " ")]  # salts follow the name
    unit = _STRENGTH_UNITS.get(tokens[k + 1].upper()) if 0 < k < len(tokens) - 1 else None
    amount = _num(float(tokens[k]) * unit[0]) if unit else None
    return (
        (max(matches, key=len), Strength(amount, unit[1])) if matches and amount and unit else None
    )


def parse_strengths(product_name: str, ingredients: Sequence[str]) -> dict[str, Strength]:
    """Per-ingredient strengths from an RxNorm SCD/SBD (or pack) name; {} when none parse.

    An ingredient whose strength differs between the parts of a pack is left out: which one a
    dose refers to is unknown.
    """
    if not isinstance(product_name, str):
        return {}
    names, name = _names(ingredients), bounded_text(product_name, 2 * _MAX_TEXT)
    parts = _PACK_PART.findall(name) if name.lstrip().startswith("{") else [name.split("[")[0]]
    found: dict[str, Strength] = {}
    unclear: set[str] = set()
    for part in parts[:_MAX_ITEMS]:
        here: dict[str, Strength] = {}
        for ing, s in filter(None, (_component(c, names) for c in part.split(" / ")[:_MAX_ITEMS])):
            if ing in here:  # two salts of one ingredient in one unit add up
                unclear |= {ing} if here[ing].per_ml != s.per_ml else set()
                s = Strength(here[ing].amount + s.amount, s.per_ml)
            here[ing] = s
        unclear |= {ing for ing, s in here.items() if found.setdefault(ing, s) != s}
    return {ing: s for ing, s in found.items() if ing not in unclear}


# ---- structured amounts and frequencies -----------------------------------------------------

# mg per ingredient, and the amount and unit (`_UNITS`) it was read from, for its labels
_Amount = tuple[dict[str, float], float, tuple[str, float, str]]
_UNITS: dict[str, tuple[str, float, str]] = _table(  # kind, factor to mg, label
    (("mass", 1.0, "mg"), "mg milligram milligrams"),
    (("mass", 1e3, "g"), "g gm gram grams"),
    (("mass", 1e-3, "mcg"), "mcg ug microgram micrograms"),
    (("ml", 1.0, "mL"), "ml milliliter milliliters millilitre millilitres"),
    (("unit", 1.0, "tablet"), "tablet tablets tab tabs tbl"),
    (("unit", 1.0, "capsule"), "capsule capsules cap caps"),
    (("unit", 1.0, "unit"), "unit units each 1"),
    (("unit", 1.0, "patch"), "patch patches"),
    (("unit", 1.0, "dose"), "dose doses"),
    (("unit", 1.0, "puff"), "puff puffs"),
    (("unit", 1.0, "pill"), "pill pills"),
)
_NOT_IN_TEXT = frozenset({"each", "1", "dose", "doses"})  # "1 each day", "max 3 doses a day"
_DAYS = _table((1 / 86400, "s sec"), (1 / 1440, "min"), (1 / 24, "h hr hrs hour hours"))
_DAYS |= _table((1.0, "d day days"), (7.0, "wk week weeks"), (30.0, "mo month"), (365.0, "a"))
_TIMING_CODES: dict[str, float] = _table(
    (1.0, "QD DAILY QAM QPM QHS HS AM PM"), (2.0, "BID Q12H"), (3.0, "TID Q8H")
)
_TIMING_CODES |= _table((4.0, "QID Q6H"), (0.5, "QOD"), (1 / 7, "WK"))
_QNH = re.compile(r"Q(\d{1,2})H")
_MEALS = frozenset({"C", "AC", "PC"})  # EventTiming "at/before/after meals": three a day


def _amount(value: float, unit: Any, st: Mapping[str, Strength], ings: list[str]) -> _Amount | None:
    """`value` of `unit` -> (mg per ingredient, value, unit), or None."""
    kind, factor, _ = unit
    if kind == "mass":  # an amount of drug: whose, for a combination, is unknown
        return ({ings[0]: value * factor}, value, unit) if len(ings) == 1 else None
    per_ml = kind == "ml"
    mg = {i: value * st[i].amount for i in ings if i in st and st[i].per_ml is per_ml}
    return (mg, value, unit) if mg else None


def _labels(amount: _Amount, st: Mapping[str, Strength]) -> tuple[str, str]:
    """(quantity label, strength label) of an amount: "2 tablets", " × 325 mg / 5 mg". Written
    only for the amount a dose is worked out from (a sig may name several)."""
    mg, value, (kind, _, label) = amount
    if kind == "mass":
        return f"{_fmt(value)} {label}", ""
    per_ml = kind == "ml"
    noun = "mL" if per_ml else label + ("" if value <= 1 else "es" if label[-1] == "h" else "s")
    each = " / ".join(f"{_fmt(st[i].amount)} mg{'/mL' if per_ml else ''}" for i in mg)
    return f"{_fmt(value)} {noun}", f" × {each}"


def _quantity(
    q: Any, st: Mapping[str, Strength], ings: list[str], days: float = 1.0
) -> _Amount | None:
    """A Quantity -> (mg per ingredient, value, unit), divided by `days`; or None."""
    if not _is_map(q):
        return None
    words = [q.get("code"), q.get("unit")]
    if any(w is not None and not isinstance(w, str) for w in words):
        return None  # a unit we cannot read is not "no unit"
    words = [w.strip().lower().strip("{}") for w in words if w and w.strip()]
    unit = next((_UNITS[w] for w in words if w in _UNITS), None if words else _UNITS["unit"])
    value = _num(q.get("value"))
    return _amount(value / days, unit, st, ings) if value and unit else None


def _opt(d: Mapping[str, Any], key: str, default: float) -> float | None:
    """d[key] as a number, `default` when absent, None when present but unusable."""
    return default if d.get(key) is None else _num(d.get(key))


def _timing(timing: Any) -> float | None:
    """Administrations a day from Timing.repeat (the most it allows), else Timing.code."""
    if timing is None:  # most dosages in text only
        return None
    rep = timing.get("repeat") if _is_map(timing) else None
    if _is_map(rep):
        key = "frequencyMax" if rep.get("frequencyMax") is not None else "frequency"
        marks = rep.get("timeOfDay") or rep.get("when")
        marks = marks[:_MAX_ITEMS] if isinstance(marks, list) else []
        marks = {w for w in marks if isinstance(w, str)}
        if rep.get(key) is None and marks:
            return float(sum(3 if w in _MEALS else 1 for w in marks))
        unit = rep.get("periodUnit")
        if rep.get(key) is not None or unit is not None:
            n, period = _opt(rep, key, 1), _opt(rep, "period", 1)
            days = _DAYS.get(unit) if isinstance(unit, str) else None
            return n / (period * days) if n and period and days else None
    code: Any = timing.get("code") if _is_map(timing) else None  # any JSON
    code = code if _is_map(code) else {}
    codings = code.get("coding") if isinstance(code.get("coding"), list) else []
    words = [c.get("code") for c in codings[:_MAX_ITEMS] if _is_map(c)]
    for w in (w.strip().upper() for w in [*words, code.get("text")] if isinstance(w, str)):
        if (m := _QNH.fullmatch(w)) and int(m[1]):
            return 24 / int(m[1])
        if w in _TIMING_CODES:
            return _TIMING_CODES[w]
    return None


# ---- free text --------------------------------------------------------------------------------

_TOKEN = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?|\.\d+|[a-z]+|[/-]")  # linear: no nested repeats
_WORD_NUMBERS = _table((1.0, "one"), (2.0, "two"), (3.0, "three"), (4.0, "four"), (5.0, "five"))
_WORD_NUMBERS |= _table((6.0, "six"), (7.0, "seven"), (8.0, "eight"), (9.0, "nine"))
_WORD_NUMBERS |= {"ten": 10.0, "twelve": 12.0, "half": 0.5}
_HOURS = frozenset({"h", "hr", "hrs", "hour", "hours"})
_SPANS = dict.fromkeys(_HOURS, 1 / 24) | _table((1.0, "d day days"), (7.0, "week weeks"))
_PERIODS = _table((1.0, "day daily"), (1 / 7, "week weekly"))
_COUNTS = {"once": 1.0, "twice": 2.0, "thrice": 3.0}
_ABBR = _table((1.0, "qd qday daily"), (2.0, "bid"), (3.0, "tid"), (4.0, "qid"), (0.5, "qod"))
_ABBR["weekly"] = 1 / 7
_SLOTS = _table(("am", "morning qam am breakfast"), ("noon", "noon lunch"))
_SLOTS |= _table(("pm", "evening qpm pm dinner supper"), ("hs", "bedtime night nightly hs qhs"))
_MAX_WORDS = frozenset({"max", "maximum", "exceed", "than"})
_RATES = frozenset({"kg", "lb", "m", "h", "hr", "hour", "min"})  # mg/kg, mg/hr: not a dose
# After a number without a unit, these say it was a dose all the same ("2 at bedtime").
_LEADS = {"at", "in", "every", "each", "q", "with", "before", "after", "by", "po", *_COUNTS}
_LEADS |= _ABBR.keys() | (_SLOTS.keys() - {"am", "pm"})
# What a sig says: (dose, doses a day, stated daily maximum, whether it names a dose).
_Sig = tuple[_Amount | None, float | None, _Amount | None, bool]
_UNCLEAR: _Sig = (None, None, None, True)
_PADDING = [""] * 12
_UNSET = object()
# The words that, not after a number, change what a sig is read as (`_read_text`'s last two
# branches): any other word is passed over.
_WORDS_READ = frozenset({"every", "q", "daily", *_COUNTS, *_MAX_WORDS, *_ABBR, *_SLOTS})


def _number(tok: list[str], k: int) -> tuple[float | None, int]:
    """The number at tok[k] (digits, "1/2", a word) and the index after it."""
    t = tok[k]
    if t in _WORD_NUMBERS:
        return _WORD_NUMBERS[t], k + 1
    if not t[:1].isdigit() and not t.startswith("."):
        return None, k
    x = float(t.replace(",", ""))
    if tok[k + 1] == "/" and tok[k + 2][:1].isdigit():
        below = float(tok[k + 2].replace(",", ""))
        x, k = (x / below if below else 0.0), k + 2
    k += _WORD_NUMBERS.get(tok[k + 1]) == x  # Epic's "every 8 (eight) hours"
    return (x, k + 1) if 0 < x <= _CAP else (None, k)  # `_num` of a float


def _interval(tok: list[str], k: int) -> tuple[float, int] | None:
    """After "every"/"q": "4 to 6 hours" -> 6 a day (the shortest interval is the maximum)."""
    if tok[k] == "other" and tok[k + 1] == "day":
        return 0.5, k + 2
    n, j = _number(tok, k)
    m, end = _number(tok, j + 1) if n and tok[j] in ("-", "to", "or") else (None, j)
    n, j = (min(n, m), end) if n and m else (n, j)
    return (1 / ((n or 1.0) * _SPANS[tok[j]]), j + 1) if tok[j] in _SPANS else None


def _per_period(tok: list[str], k: int) -> tuple[float, int] | None:
    """After "N times"/"twice": "a day", "daily", "per week"..."""
    k += tok[k] in ("a", "an", "per", "each", "every", "/")
    factor = _PERIODS.get(tok[k])
    return (factor, k + 1) if factor else None


def _daily_end(tok: list[str], k: int, capped: bool) -> int | None:
    """After an amount: "per day", "/day", "in 24 hours" (or "daily" after "max") -> its end."""
    if capped and tok[k] == "daily":
        return k + 1
    if tok[k] not in ("per", "/", "a", "in", "each", "every"):
        return None
    k += 1 + (tok[k + 1] in ("a", "any", "one"))
    return k + 1 if tok[k] == "day" else k + 2 if tok[k] == "24" and tok[k + 1] in _HOURS else None


def _read_text(text: Any, st: Mapping[str, Strength], ings: list[str]) -> _Sig | None:
    """A sig -> (dose, doses a day, stated daily maximum, whether it names a dose), each may be
    None; _UNCLEAR when it names a dose but which is unclear (two doses, a dose without unit)."""
    if not isinstance(text, str):
        return None
    tok = _TOKEN.findall(bounded_text(text, _MAX_TEXT).lower())
    size = len(tok)
    tok += _PADDING  # look-aheads need no bounds checks
    amounts: list[_Amount | None]
    dailies: list[_Amount | None]
    freqs: list[float]
    slots: set[str]
    amounts, dailies, freqs, slots, stated = [], [], [], set(), False
    i, last_end, last_max, max_daily = 0, -1, -9, -9
    while i < size:
        t = tok[i]
        if t in _WORD_NUMBERS or t[:1].isdigit() or t[:1] == ".":
            value, j = _number(tok, i)
        elif t not in _WORDS_READ:
            i += 1  # a word that says nothing on its own ("by", "mouth", "tablet")
            continue
        else:
            value, j = None, i
        unit = _UNITS.get(tok[j]) if value and tok[j] not in _NOT_IN_TEXT else None
        per = _per_period(tok, j + 1) if value and tok[j] in ("times", "time", "x") else None
        if unit and value:  # (a unit is only read after a number)
            stated, got, after = True, _amount(value, unit, st, ings), tok[j + 2]
            end = _daily_end(tok, j + 1, i - last_max <= 3)
            if end or i - max_daily <= 3:  # "max 8 tablets a day", "Max Daily Amount: 8 tablets"
                dailies.append(got)
                i = end or j + 1
                continue
            if tok[j + 1] in ("/", "per") and (after in _RATES or after == "ml"):
                if after in _RATES:
                    return _UNCLEAR
                i = j + 3  # a concentration (5 mg/mL), not a dose
                continue
            ranged = tok[i - 1] in ("-", "to", "or") and i > 1 and _number(tok, i - 2)[0]
            if i - last_max > 3 and amounts and (i - 2 if ranged else i) != last_end:
                return _UNCLEAR  # two doses ("1 tablet in the morning and 2 tablets at night")
            amounts += [got] if i - last_max > 3 else []  # "max 2 tablets" per what? skip it
            i = last_end = j + 1
        elif value and per:
            freqs.append(value * per[0])
            i = per[1]
        elif value:
            if tok[j] in _LEADS:
                return _UNCLEAR  # "take 2 at bedtime": two of what?
            i = j
        elif per := (_interval(tok, i + 1) if tok[i] in ("every", "q") else None) or (
            _per_period(tok, i + 1) if tok[i] in _COUNTS else None
        ):
            freqs.append(per[0] * _COUNTS.get(tok[i], 1.0))
            i = per[1]
        else:
            last_max = i if tok[i] in _MAX_WORDS else last_max
            max_daily = i if tok[i] == "daily" and last_max == i - 1 else max_daily
            freqs += [_ABBR[tok[i]]] if tok[i] in _ABBR and max_daily != i else []
            slots |= {_SLOTS[tok[i]]} if tok[i] in _SLOTS else set()
            i += 1
    known = [a for a in amounts if a]
    if len(known) > 1 and any(not _same(a[0], known[0][0]) for a in known[1:]):
        return _UNCLEAR  # two different doses
    if len(freqs) > 1 and not math.isclose(max(freqs), min(freqs)):
        return _UNCLEAR  # two different schedules
    daily = min(filter(None, dailies), key=_total, default=None) if dailies else None
    per_day = freqs[0] if freqs else float(len(slots)) if slots else None
    return (known[0] if known else None), per_day, daily, stated


# ---- putting it together ----------------------------------------------------------------------


def _same(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], rel_tol=1e-6) for k in a)


# Labels repeat (the same few amounts and schedules in drug after drug): each is written once.
@lru_cache(maxsize=1024)
def _fmt(x: float) -> str:
    """2600.0 -> "2,600", 0.025 -> "0.025"."""
    if abs(x - round(x)) < 1e-6 * max(1.0, x):
        return f"{round(x):,}"
    return f"{x:,.{3 if x >= 1 else 6}f}".rstrip("0").rstrip(".")


@lru_cache(maxsize=256)
def _freq(n: float) -> str:
    if n >= 1 and abs(n - round(n)) < 1e-6:
        return {1: "once a day", 2: "twice a day"}.get(round(n), f"{round(n)} times a day")
    if n < 1 and abs(1 / n - round(1 / n)) < 1e-6:
        return "once a week" if round(1 / n) == 7 else f"every {round(1 / n)} days"
    return f"{_fmt(n)} times a day"


def _ratio(r: Any, st: Mapping[str, Strength], ings: list[str]) -> _Amount | None:
    """maxDosePerPeriod (a Ratio) as an amount a day."""
    den = r.get("denominator") if _is_map(r) else None
    if not _is_map(den):
        return None
    unit = den.get("code") if isinstance(den.get("code"), str) else den.get("unit")
    days = _DAYS.get(unit.strip().lower()) if isinstance(unit, str) else None
    value = _opt(den, "value", 1)
    return _quantity(r.get("numerator"), st, ings, value * days) if days and value else None


def _dosage(
    d: Mapping[str, Any], st: Mapping[str, Strength], ings: list[str]
) -> tuple[tuple[dict[str, float], str] | None, bool]:
    """One Dosage -> ((mg a day per ingredient, label) or None, whether it stated a dose)."""
    prn = d.get("asNeededBoolean") is True or d.get("asNeeded") is True
    prefix = "as needed: " if prn or _is_map(d.get("asNeededCodeableConcept")) else ""
    cap = d.get("maxDosePerPeriod")  # a Ratio in R4, a list of them in R5
    capped = None
    if cap is not None:
        caps = [_ratio(r, st, ings) for r in (cap if isinstance(cap, list) else [cap])[:_MAX_ITEMS]]
        capped = min(filter(None, caps), key=_total, default=None)
    dose, per_day, stated = None, _timing(d.get("timing")), cap is not None
    entries = d.get("doseAndRate")
    for e in (entries if isinstance(entries, list) else [entries] if entries else [])[:_MAX_ITEMS]:
        if _is_map(e) and ("doseQuantity" in e or "doseRange" in e):
            high = e["doseRange"].get("high") if _is_map(e.get("doseRange")) else None
            dose, stated = _quantity(e.get("doseQuantity", high), st, ings), True
            break
    text, instruction = d.get("text"), d.get("patientInstruction")
    for sig in (
        (None, None, capped, False),
        None if text is None else _read_text(text, st, ings),
        None if instruction is None else _read_text(instruction, st, ings),
    ):
        if sig is None:
            continue
        text_dose, text_per_day, daily, text_stated = sig
        stated = stated or text_stated
        if daily:  # the stated maximum (maxDosePerPeriod first), whatever the schedule
            qty, each = _labels(daily, st)
            return (daily[0], f"{prefix}at most {qty} a day{each}"), True
        amount, n = dose or text_dose, per_day or text_per_day
        mg = amount[0] if amount else None
        if amount and mg and n:
            qty, each = _labels(amount, st)
            label = f"{prefix}{qty}{each}{', ' if each else ' '}{_freq(n)}"
            return ({i: v * n for i, v in mg.items()}, label), True
    return None, stated


def _total(amount: _Amount) -> float:
    return sum(amount[0].values())


def daily_dose(
    resource: Mapping[str, Any], strengths: Mapping[str, Strength], ingredients: Sequence[str]
) -> DailyDose | None:
    """The most mg a day, per ingredient, the dosage allows; None when it cannot be computed
    (say nothing rather than guess). Concurrent dosages add up; of sequential ones (different
    `sequence` values) the largest step counts.
    """
    if not isinstance(resource, Mapping):
        return None
    raw = resource.get("dosageInstruction")
    raw = raw if isinstance(raw, list) else resource.get("dosage")
    if not isinstance(raw, list):
        return None
    return _daily(raw, _usable(strengths), _names(ingredients))


def _usable(strengths: Mapping[str, Strength]) -> dict[str, Strength]:
    """The strengths a dose can be worked out from, keyed by normalised ingredient name."""
    items = strengths.items() if isinstance(strengths, Mapping) else ()
    st = {" ".join(k.lower().split()): v for k, v in items if isinstance(k, str)}
    st = {k: v for k, v in st.items() if isinstance(v, Strength)}
    return {k: v for k, v in st.items() if _num(v.amount) and isinstance(v.per_ml, bool)}


def _daily(raw: list[Any], st: dict[str, Strength], ings: list[str]) -> DailyDose | None:
    """`daily_dose` of the dosages `raw`, given usable strengths and normalised ingredients."""
    steps: dict[Any, list[tuple[dict[str, float], str]]] = {}
    for d in filter(_is_map, raw[:_MAX_ITEMS]):
        got, stated = _dosage(d, st, ings)
        if got is None and stated:
            return None  # a dose we cannot read: any total would understate it
        seq = d.get("sequence")
        if got:
            steps.setdefault(seq if type(seq) is int else None, []).append(got)
    best: tuple[float, dict[str, float], str] = (0.0, {}, "")
    for parts in steps.values():  # concurrent parts add up; the largest step counts
        if len(parts) == 1:  # nearly always: one dosage
            ((part, label),) = parts
            mg = {i: round(part[i], 6) for i in ings if i in part}
        else:
            common = set.intersection(*(set(mg) for mg, _ in parts))
            mg = {i: round(sum(p[i] for p, _ in parts), 6) for i in ings if i in common}
            label = " + ".join(label for _, label in parts)
        if all(math.isfinite(v) and v > 0 for v in mg.values()) and sum(mg.values()) > best[0]:
            best = (sum(mg.values()), mg, label)
    _, mg, label = best
    if not mg:
        return None
    label = f"largest of {len(steps)} steps: {label}" if len(steps) > 1 else label
    if len(mg) == 1:
        totals = f"{_fmt(next(iter(mg.values())))} mg/day"
    else:
        totals = "; ".join(f"{_fmt(v)} mg/day {i}" for i, v in mg.items())
    room = 117 - len(totals)  # keep the line short: shorten the label, never the totals
    if len(label) > room:
        label = label[: room - 1].rstrip() + "…" if room > 10 else ""
    return DailyDose(MappingProxyType(mg), f"{label} = {totals}" if label else totals)


# The keys of a Dosage read besides `text` (`_dosage`), but for `sequence`, which does not change
# the dose of a single Dosage.
_READ_BESIDES_TEXT = frozenset(
    {"asNeededBoolean", "asNeeded", "asNeededCodeableConcept", "maxDosePerPeriod", "timing"}
    | {"doseAndRate", "patientInstruction"}
)


def dose_of(med: Medication, answers: dict[Any, Any] | None = None) -> DailyDose | None:
    """A medication's daily dose, worked out from its dosage and product name when a check needs
    it (most drugs read never meet a dose check).

    `answers` (a dict the caller keeps for one call) remembers, per product, the dose of each
    reading of a text-only dosage: an order set's sigs differ in their words far more often than
    in what they say ("2 tablets every 4 hours"), and the reading is the only part that depends
    on the words.
    """
    if not med.dosage:
        return None
    st, ings = _product(med.product, med.ingredients)
    raw = med.dosage
    only = raw[0] if len(raw) == 1 else None
    if answers is None or only.__class__ is not dict or not _READ_BESIDES_TEXT.isdisjoint(only):
        return _daily(list(raw), st, ings)
    sig = _read_text(only.get("text"), st, ings)
    if sig is None:
        return None  # no text: nothing stated
    dose, per_day, daily, stated = sig
    # What the dose follows from: each amount as the (value, unit) its mg were worked out from.
    key = (med.product, med.ingredients, dose and dose[1:], per_day, daily and daily[1:], stated)
    found = answers.get(("sig", key), _UNSET)
    if found is _UNSET:
        found = answers[("sig", key)] = _daily([only], st, ings)
    return found  # type: ignore[no-any-return]


# What a dose is worked out from besides the dosage: a product's usable strengths and its
# ingredient names, remembered per (product, ingredients), since an order set names a few
# products over and over (with a different dosage each time). Product names are RxNorm's or
# a caller's display, so the memo is bounded by bytes (`mappings.memo`).
_PRODUCTS: Memo[tuple[str, tuple[str, ...]], tuple[dict[str, Strength], list[str]]] = Memo(
    max_bytes=_PRODUCTS_BYTES, max_key_chars=2 * _MAX_TEXT
)


def _product(product: str, ingredients: tuple[str, ...]) -> tuple[dict[str, Strength], list[str]]:
    """(usable strengths, normalised ingredient names) of a product, read once (shared between
    calls: read, never changed)."""
    if product.__class__ is not str or ingredients.__class__ is not tuple:  # not a key
        return _usable(parse_strengths(product, ingredients)), _names(ingredients)
    key = (product, ingredients)
    found = _PRODUCTS.get(key)
    if found is None:
        found = (_usable(parse_strengths(product, ingredients)), _names(ingredients))
        _PRODUCTS.remember(key, found)
    return found
