"""Short clinical names for card text: "oxycodone 5 mg tablet", "MRI lumbar spine", "eGFR 41".

A card summary has under 140 characters, and the names an EHR sends do not fit it: RxNorm names a
drug by its precise ingredient and dose form ("oxycodone hydrochloride 5 MG Oral Tablet"), a CPT
descriptor names a scan by its anatomy ("Magnetic resonance (eg, proton) imaging, spinal canal and
contents, lumbar; without contrast material"), a result comes as "40.8868 mL/min/{1.73_m2}". A
short name is composed of the parts a prescriber writes:

- a drug: each ingredient with its strength, then the dose form's short words ("duloxetine 60 mg
  delayed-release capsule"), read off the RxNorm product name, or off a display written the same
  way. The salt goes ("oxycodone", not "oxycodone hydrochloride") unless products of that
  ingredient and dose form differ by salt in the product table (naproxen and naproxen sodium
  tablets); a brand in brackets goes. A name that does not read that way is kept as it is.
- an imaging order: modality and region ("MRI lumbar spine"), from the draft's text or its code's
  display. Other orders keep their display.
- a measured value: its name, the value rounded as it is reported, the unit a clinician writes.

Everything it knows is data, in `mappings/data/names/`. A card's detail still quotes the EHR's
own names and codes; these are for the places that must be short.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache, lru_cache
from pathlib import Path

from mappings.datafile import require, rows
from mappings.errors import DataError
from mappings.loader import load_terminology
from mappings.profile import DraftOrder, Measurement, Medication

DATA_DIR = Path(__file__).parent / "data" / "names"
_WITH_FORM = frozenset({"SCD", "SBD"})  # term types named "<strengths> <dose form>"
_REMEMBER_UP_TO = 300  # names longer than this (EHR text) are worked out, not remembered


@dataclass(frozen=True, slots=True)
class Names:
    """The tables of `mappings/data/names/`, indexed."""

    forms: dict[str, str]  # RxNorm dose form -> its short words
    units: dict[str, str]  # unit as written -> as shown
    loose_units: dict[str, str]  # the same, keyed lower-case without spaces
    observations: dict[str, tuple[str, int, str]]  # concept -> (name, decimals, default unit)
    imaging_kinds: frozenset[str]
    modalities: dict[str, str]  # lower-case phrase -> "MRI", "CT", "X-ray"
    regions: dict[str, tuple[str, int]]  # lower-case phrase -> (short, rank)
    form_at_end: re.Pattern[str]  # " <form>" ending a name
    form_tail: int  # the most characters `form_at_end` can match: it is looked for there only
    modality_words: re.Pattern[str]
    region_words: re.Pattern[str]


def _phrases(phrases: Iterable[str]) -> re.Pattern[str]:
    """Whole-word phrases, any case, the longest first where two start at one place."""
    body = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE)


def _loose(unit: str) -> str:
    return "".join(unit.split()).lower()


@cache
def names() -> Names:
    """The tables, read and checked once (a bad row raises `DataError` naming it)."""
    forms_file, units_file = DATA_DIR / "dose_forms.csv", DATA_DIR / "units.csv"
    observations_file, imaging_file = DATA_DIR / "observations.csv", DATA_DIR / "imaging.csv"
    require(forms_file, ("dose_form", "short"))
    forms = {}
    for number, row in rows(forms_file):
        if not row["dose_form"] or not row["short"]:
            raise DataError(forms_file.name, number, "dose_form and short are required")
        forms[row["dose_form"]] = row["short"]
    require(units_file, ("unit", "display"))
    units = {row["unit"]: row["display"] for _, row in rows(units_file)}
    loose: dict[str, str] = {}
    for unit, shown in units.items():
        loose.setdefault(_loose(unit), shown)
    require(observations_file, ("concept", "short", "decimals", "unit"))
    observations = {}
    for number, row in rows(observations_file):
        if not row["decimals"].isdigit():
            raise DataError(observations_file.name, number, "decimals must be a whole number")
        observations[row["concept"]] = (row["short"], int(row["decimals"]), row["unit"])
    require(imaging_file, ("part", "phrase", "short", "rank"))
    kinds, modalities, regions = set(), {}, {}
    for number, row in rows(imaging_file):
        part, phrase = row["part"], row["phrase"].lower()
        if part == "kind":
            kinds.add(row["phrase"])
        elif part == "modality" and row["short"]:
            modalities[phrase] = row["short"]
        elif part == "region" and row["short"] and row["rank"] in ("1", "2"):
            regions[phrase] = (row["short"], int(row["rank"]))
        else:
            raise DataError(imaging_file.name, number, f"bad {part!r} row")
    by_length = sorted(forms, key=len, reverse=True)
    return Names(
        forms,
        units,
        loose,
        observations,
        frozenset(kinds),
        modalities,
        regions,
        re.compile(r" (" + "|".join(re.escape(f) for f in by_length) + r")$"),
        1 + len(by_length[0]) if by_length else 1,
        _phrases(modalities),
        _phrases(regions),
    )


# ---- units and measured values ----------------------------------------------------------------


def unit(written: str) -> str:
    """How a unit is shown: "mL/min/{1.73_m2}" -> "mL/min/1.73 m²"; an unknown unit as written."""
    table = names()
    found = table.units.get(written)
    if found is None:
        found = table.loose_units.get(_loose(written))
    return written.strip() if found is None else found


def number(value: float, decimals: int) -> str:
    """The value rounded half up as results are reported: 40.8868 -> "41" (0 decimals)."""
    try:
        rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    except InvalidOperation:
        return f"{value:g}"
    return f"{rounded:f}"


def measurement(m: Measurement) -> tuple[str, str, str]:
    """(name, value, unit) as card text shows a result: ("eGFR", "41", "mL/min/1.73 m²")."""
    name, decimals, default = names().observations.get(m.evidence.concept, ("", 2, ""))
    return name or m.evidence.display, number(m.value, decimals), unit(m.unit or default)


def measured(m: Measurement) -> str:
    """The result in a few words: "eGFR 41 mL/min/1.73 m²"."""
    return " ".join(part for part in measurement(m) if part)


# ---- drugs -------------------------------------------------------------------------------------

_BRAND = re.compile(r"\s*\[[^\[\]]*\]$")
_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?) (\S+) (.+)$")  # "0.5 ML ...", "24 HR ..."
_COMPONENT = re.compile(r"^(\S.*?) (\d+(?:\.\d+)?) (\S+)$")  # "oxycodone hydrochloride 5 MG"


@dataclass(frozen=True, slots=True)
class _Product:
    quantity: str  # "0.5 mL", "24 h", or ""
    parts: tuple[tuple[str, str], ...]  # (substance as written, strength as shown)
    form: str  # the RxNorm dose form, "" when the name has none


def _strength_unit(written: str) -> str | None:
    table = names()
    found = table.units.get(written)
    return table.loose_units.get(_loose(written)) if found is None else found


def _read(name: str) -> _Product | None:
    """An RxNorm-style product name in parts, or None when it does not read as one (a pack)."""
    text = _BRAND.sub("", " ".join(name.split()))
    if not text or text.startswith("{"):
        return None
    form = ""
    table = names()
    tail = max(0, len(text) - table.form_tail)  # a form ends the name: not read all through
    found = table.form_at_end.search(text, tail)
    if found is not None:
        form, text = found.group(1), text[: found.start()]
    quantity = ""
    leading = _QUANTITY.match(text)
    if leading is not None and not leading.group(3)[:1].isdigit():
        shown = _strength_unit(leading.group(2))
        if shown is not None and _COMPONENT.match(leading.group(3)):
            quantity, text = f"{leading.group(1)} {shown}", leading.group(3)
    parts = []
    for part in text.split(" / "):
        component = _COMPONENT.match(part)
        shown = _strength_unit(component.group(3)) if component is not None else None
        if component is None or shown is None:
            return None
        parts.append((component.group(1), f"{component.group(2)} {shown}".rstrip()))
    return _Product(quantity, tuple(parts), form)


def _ingredient_of(substance: str, ingredients: Sequence[str]) -> str | None:
    """The ingredient a substance is ("oxycodone hydrochloride" -> "oxycodone"), if listed."""
    lower = substance.lower()
    best = None
    for ingredient in ingredients:
        if (lower == ingredient or lower.startswith(ingredient + " ")) and (
            best is None or len(ingredient) > len(best)
        ):
            best = ingredient
    return best


@cache
def _salts() -> dict[tuple[str, str, bool], frozenset[str]]:
    """(ingredient, dose form, alone) -> the substance names the table's products give it
    (`alone`: in a single-ingredient product)."""
    term = load_terminology()
    found: dict[tuple[str, str, bool], set[str]] = {}
    for rxcui, name in term.product_names.items():
        if term.product_tty.get(rxcui) not in _WITH_FORM:
            continue
        product = _read(name)
        if product is None:
            continue
        ingredients = term.product_ingredients.get(rxcui, ())
        alone = len(product.parts) == 1
        for substance, _ in product.parts:
            ingredient = _ingredient_of(substance, ingredients)
            if ingredient is not None:
                key = (ingredient, product.form, alone)
                found.setdefault(key, set()).add(substance.lower())
    return {k: frozenset(v) for k, v in found.items()}


def _substance(substance: str, ingredients: Sequence[str], form: str, alone: bool) -> str:
    ingredient = _ingredient_of(substance, ingredients)
    if ingredient is None:
        return substance
    if ingredient != substance.lower() and len(_salts().get((ingredient, form, alone), ())) > 1:
        return substance  # the salt tells products apart
    return ingredient


def product_names(name: str, ingredients: Sequence[str] = ()) -> tuple[str, ...]:
    """The short names of an RxNorm-style product name, longest first ("oxycodone hydrochloride
    5 MG Oral Tablet" -> "oxycodone 5 mg tablet", "oxycodone"); () when it does not read as one."""
    product = _read(name)
    if product is None:
        return ()
    alone = len(product.parts) == 1
    substances = [_substance(s, ingredients, product.form, alone) for s, _ in product.parts]
    strengths = " / ".join(
        f"{substance} {strength}"
        for substance, (_, strength) in zip(substances, product.parts, strict=True)
    )
    words = [strengths, product.quantity, names().forms.get(product.form, "")]
    return tuple(dict.fromkeys((" ".join(w for w in words if w), " / ".join(substances))))


def product_name(name: str, ingredients: Sequence[str] = ()) -> str | None:
    """The short name of an RxNorm-style product name ("oxycodone 5 mg tablet"), or None."""
    found = product_names(name, ingredients)
    return found[0] if found else None


def medication_names(m: Medication) -> tuple[str, ...]:
    """The medication's short names, longest first: its product's ("duloxetine 60 mg
    delayed-release capsule", "duloxetine"), else its display's, else the display."""
    key = (m.product, m.display, m.ingredients)
    if len(m.product) + len(m.display) > _REMEMBER_UP_TO:
        return _medication_names(*key)
    return _remembered_medication(*key)


def medication(m: Medication) -> str:
    """The medication's short name: "oxycodone 5 mg tablet"."""
    return medication_names(m)[0]


def _medication_names(product: str, display: str, ingredients: tuple[str, ...]) -> tuple[str, ...]:
    found = product_names(product, ingredients)
    if not found and display != product:
        found = product_names(display, ingredients)
    return found or (" ".join(display.split()),)


_remembered_medication = lru_cache(maxsize=2048)(_medication_names)


# ---- orders ------------------------------------------------------------------------------------


def imaging(texts: Iterable[str]) -> str | None:
    """ "MRI lumbar spine": the modality and region the first text naming both says (a specific
    region before a general one: "spinal canal and contents, lumbar" is the lumbar spine)."""
    table = names()
    general = None
    for text in texts:
        modality = table.modality_words.search(text)
        if modality is None:
            continue
        found = [table.regions[m.group(0).lower()] for m in table.region_words.finditer(text)]
        best = min((rank for _, rank in found), default=None)
        if best is None:
            continue
        regions = list(dict.fromkeys(short for short, rank in found if rank == best))
        name = f"{table.modalities[modality.group(0).lower()]} {_joined(regions)}"
        if best == 1:
            return name
        general = general or name
    return general


def _joined(regions: list[str]) -> str:
    """ "lumbar and thoracic spine" for two spine regions; else each region in full."""
    if len(regions) > 1 and all(r.endswith(" spine") for r in regions):
        return " and ".join(r.removesuffix(" spine") for r in regions) + " spine"
    return " and ".join(regions)


def order_names(o: DraftOrder) -> tuple[str, ...]:
    """The draft order's short names, longest first: its medication's, an imaging order's
    modality and region, else its display."""
    if o.medication is not None and o.display != "unnamed order":
        return medication_names(o.medication)
    if o.kinds & names().imaging_kinds:
        own = [e for e in o.evidence if e.resource == o.reference and e.concept in o.kinds]
        term = load_terminology()
        listed = (term.lookup(e.system, e.code) for e in own if e.system != "text")
        texts = [o.display, *(e.display for e in own), *(x.display for x in listed if x)]
        found = imaging(texts)
        if found is not None:
            return (found,)
    return (o.display,)


def order(o: DraftOrder) -> str:
    """The draft order's short name: "oxycodone 5 mg tablet", "MRI lumbar spine"."""
    return order_names(o)[0]


__all__ = [
    "DATA_DIR",
    "Names",
    "imaging",
    "measured",
    "measurement",
    "medication",
    "medication_names",
    "names",
    "number",
    "order",
    "order_names",
    "product_name",
    "product_names",
    "unit",
]
