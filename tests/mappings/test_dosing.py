"""Maximum daily dose from a dosage: RxNorm strengths, structured dosages, free text, bad data."""

from __future__ import annotations

import math
from typing import Any

import pytest

from mappings.dosing import DailyDose, Strength, daily_dose, parse_strengths

TIZANIDINE = {"tizanidine": Strength(4.0)}
NORCO = {"acetaminophen": Strength(325.0), "hydrocodone": Strength(5.0)}
NORCO_INGREDIENTS = ["acetaminophen", "hydrocodone"]


def qty(value: Any, unit: str | None = None, code: str | None = None) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value}
    if unit is not None:
        q["unit"] = unit
    if code is not None:
        q |= {"code": code, "system": "http://unitsofmeasure.org"}
    return q


def dosage(
    value: Any = None,
    unit: str | None = None,
    *,
    frequency: Any = None,
    period: Any = 1,
    period_unit: str = "d",
    text: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    d: dict[str, Any] = dict(extra)
    if value is not None:
        d["doseAndRate"] = [{"doseQuantity": qty(value, unit)}]
    if frequency is not None:
        d["timing"] = {
            "repeat": {"frequency": frequency, "period": period, "periodUnit": period_unit}
        }
    if text is not None:
        d["text"] = text
    return d


def request(*dosages: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "status": "active",
        "dosageInstruction": list(dosages),
    }


def mg(resource: Any, strengths: Any = TIZANIDINE, ingredients: Any = ("tizanidine",)) -> Any:
    dose = daily_dose(resource, strengths, list(ingredients))
    return None if dose is None else dict(dose.mg)


def how(resource: Any, strengths: Any = TIZANIDINE, ingredients: Any = ("tizanidine",)) -> str:
    dose = daily_dose(resource, strengths, list(ingredients))
    assert dose is not None
    return dose.how


# ---- parse_strengths ----------------------------------------------------------------------------

INGREDIENTS = [
    "tizanidine",
    "hydrocodone",
    "acetaminophen",
    "baclofen",
    "carbamazepine",
    "tramadol",
    "diclofenac",
    "fentanyl",
    "dexamethasone",
    "gabapentin",
    "gabapentin enacarbil",
    "cyanocobalamin",
    "sucralfate",
    "onabotulinumtoxina",
    "hydrocortisone",
]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tizanidine 4 MG Oral Tablet", {"tizanidine": Strength(4.0)}),
        (
            "acetaminophen 325 MG / hydrocodone bitartrate 5 MG Oral Tablet",
            {"acetaminophen": Strength(325.0), "hydrocodone": Strength(5.0)},
        ),
        ("baclofen 1 MG/ML Oral Solution", {"baclofen": Strength(1.0, per_ml=True)}),
        ("20 ML baclofen 0.5 MG/ML Injection", {"baclofen": Strength(0.5, per_ml=True)}),
        (
            "12 HR carbamazepine 200 MG Extended Release Oral Capsule",
            {"carbamazepine": Strength(200.0)},
        ),
        (
            "24 HR tramadol hydrochloride 100 MG Extended Release Oral Tablet",
            {"tramadol": Strength(100.0)},
        ),
        ("tizanidine 4 MG Oral Tablet [Zanaflex]", {"tizanidine": Strength(4.0)}),
        ("{21 (dexamethasone 1.5 MG Oral Tablet) } Pack", {"dexamethasone": Strength(1.5)}),
        ("cyanocobalamin 1000 MCG Oral Tablet", {"cyanocobalamin": Strength(1.0)}),
        ("sucralfate 1 G Oral Tablet", {"sucralfate": Strength(1000.0)}),
        (
            "gabapentin enacarbil 600 MG Extended Release Oral Tablet",
            {"gabapentin enacarbil": Strength(600.0)},
        ),
        ("gabapentin 300 MG Oral Capsule", {"gabapentin": Strength(300.0)}),
        # not an amount per unit: left out
        ("diclofenac sodium 0.01 MG/MG Topical Gel", {}),
        ("fentanyl 0.025 MG/HR Transdermal System", {}),
        ("onabotulinumtoxinA 100 UNT Injection", {}),
        ("hydrocortisone 1 % Topical Cream", {}),
        # nothing that parses
        ("Zanaflex", {}),
        ("", {}),
        ("aspirin 81 MG Oral Tablet", {}),  # not one of the ingredients asked about
    ],
)
def test_parse_strengths(name: str, expected: dict[str, Strength]) -> None:
    assert parse_strengths(name, INGREDIENTS) == expected


def test_parse_strengths_keeps_only_what_parses_in_a_combination() -> None:
    name = "diclofenac sodium 0.01 MG/MG / tizanidine 4 MG Topical Gel"
    assert parse_strengths(name, INGREDIENTS) == {"tizanidine": Strength(4.0)}


def test_parse_strengths_name_must_be_a_whole_word_prefix() -> None:
    assert parse_strengths("tizanidinex 4 MG Oral Tablet", ["tizanidine"]) == {}
    assert parse_strengths("TIZANIDINE 4 MG Oral Tablet", ["Tizanidine"]) == TIZANIDINE


def test_parse_strengths_pack_with_two_strengths_of_one_ingredient_is_unclear() -> None:
    name = "{6 (dexamethasone 1.5 MG Oral Tablet) / 4 (dexamethasone 0.75 MG Oral Tablet) } Pack"
    assert parse_strengths(name, ["dexamethasone"]) == {}
    same = "{6 (dexamethasone 1.5 MG Oral Tablet) / 4 (dexamethasone 1.5 MG Oral Tablet) } Pack"
    assert parse_strengths(same, ["dexamethasone"]) == {"dexamethasone": Strength(1.5)}


@pytest.mark.parametrize(
    ("name", "ingredients"),
    [
        (None, ["tizanidine"]),
        (42, ["tizanidine"]),
        ("tizanidine 4 MG Oral Tablet", None),
        ("tizanidine 4 MG Oral Tablet", [None, 3, {"a": 1}]),
        ("tizanidine", ["tizanidine"]),
        ("tizanidine 4", ["tizanidine"]),
        ("tizanidine 0 MG Oral Tablet", ["tizanidine"]),
        ("tizanidine 1e999 MG Oral Tablet", ["tizanidine"]),
        ("( ( ( {", ["tizanidine"]),
        ("{(tizanidine 4 MG)", ["tizanidine"]),
        (" / / / ", ["tizanidine"]),
        ("4 MG", ["tizanidine"]),
    ],
)
def test_parse_strengths_never_raises(name: Any, ingredients: Any) -> None:
    got = parse_strengths(name, ingredients)
    assert isinstance(got, dict)
    assert all(isinstance(s, Strength) for s in got.values())


def test_parse_strengths_accepts_a_single_ingredient_string() -> None:
    assert parse_strengths("tizanidine 4 MG Oral Tablet", "tizanidine") == TIZANIDINE


# ---- structured dosages -------------------------------------------------------------------------


def test_mg_three_times_a_day() -> None:
    resource = request(dosage(16, "mg", frequency=3))
    assert mg(resource) == {"tizanidine": 48}
    assert how(resource) == "16 mg 3 times a day = 48 mg/day"


def test_mg_once_a_day() -> None:
    assert mg(request(dosage(40, "mg", frequency=1))) == {"tizanidine": 40}


def test_tablets_times_strength() -> None:
    resource = request(dosage(4, "tablet", frequency=3))
    assert mg(resource) == {"tizanidine": 48}
    assert how(resource) == "4 tablets × 4 mg, 3 times a day = 48 mg/day"


@pytest.mark.parametrize(
    "unit", ["tablet", "TAB", "tabs", "{tbl}", "{tablet}", "capsule", "CAP", "1", "{each}", None]
)
def test_dose_unit_spellings(unit: str | None) -> None:
    assert mg(request(dosage(2, unit, frequency=2))) == {"tizanidine": 16}


def test_ucum_code_wins_over_display_unit() -> None:
    d = dosage(frequency=3)
    d["doseAndRate"] = [{"doseQuantity": qty(16, "milligram", code="mg")}]
    assert mg(request(d)) == {"tizanidine": 48}
    d["doseAndRate"] = [{"doseQuantity": {"value": 2, "unit": "tablet", "code": "385055001"}}]
    assert mg(request(d)) == {"tizanidine": 24}  # unknown (SNOMED) code: the unit says tablet


@pytest.mark.parametrize(
    ("value", "unit", "expected"), [(1, "g", 4000), (1000, "mg", 4000), (500000, "ug", 2000)]
)
def test_acetaminophen_mass_units(value: float, unit: str, expected: float) -> None:
    resource = request(dosage(value, unit, frequency=4))
    got = mg(resource, {"acetaminophen": Strength(500.0)}, ["acetaminophen"])
    assert got == {"acetaminophen": expected}


def test_acetaminophen_one_gram_qid_how() -> None:
    resource = request(dosage(1, "g", frequency=4))
    assert how(resource, {}, ["acetaminophen"]) == "1 g 4 times a day = 4,000 mg/day"


def test_every_four_hours() -> None:
    resource = request(dosage(1000, "mg", frequency=1, period=4, period_unit="h"))
    assert mg(resource, {}, ["acetaminophen"]) == {"acetaminophen": 6000}
    assert how(resource, {}, ["acetaminophen"]) == "1,000 mg 6 times a day = 6,000 mg/day"


def test_every_eight_hours_is_three_a_day() -> None:
    assert mg(request(dosage(8, "mg", frequency=1, period=8, period_unit="h"))) == {
        "tizanidine": 24
    }


@pytest.mark.parametrize(
    ("repeat", "per_day"),
    [
        ({"frequency": 2, "frequencyMax": 3, "period": 1, "periodUnit": "d"}, 3),
        ({"frequency": 1, "period": 4, "periodMax": 6, "periodUnit": "h"}, 6),
        ({"frequency": 1, "period": 1, "periodUnit": "wk"}, 1 / 7),
        ({"frequency": 30, "period": 1, "periodUnit": "mo"}, 1),
        ({"frequency": 2, "period": 1, "periodUnit": "d", "timeOfDay": ["08:00:00"]}, 2),
        ({"timeOfDay": ["08:00:00", "20:00:00"]}, 2),
        ({"when": ["MORN", "HS"]}, 2),
        ({"when": ["C"]}, 3),
        ({"periodUnit": "d"}, 1),
        ({"frequency": 1, "period": 12, "periodUnit": "h"}, 2),
    ],
)
def test_timing_repeat(repeat: dict[str, Any], per_day: float) -> None:
    d = dosage(1, "mg", timing={"repeat": repeat})
    got = mg(request(d))
    assert got is not None
    assert math.isclose(got["tizanidine"], per_day, rel_tol=1e-5)


@pytest.mark.parametrize(
    ("code", "per_day"),
    [
        ("BID", 2),
        ("TID", 3),
        ("QID", 4),
        ("QD", 1),
        ("QHS", 1),
        ("AM", 1),
        ("Q4H", 6),
        ("Q6H", 4),
        ("Q8H", 3),
        ("Q12H", 2),
        ("QOD", 0.5),
        ("WK", 1 / 7),
    ],
)
def test_timing_code(code: str, per_day: float) -> None:
    system = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
    d = dosage(7, "mg", timing={"code": {"coding": [{"system": system, "code": code}]}})
    got = mg(request(d))
    assert got is not None
    assert math.isclose(got["tizanidine"], 7 * per_day, rel_tol=1e-5)


def test_timing_code_text() -> None:
    d = dosage(2, "tablet", timing={"code": {"text": "bid"}})
    assert mg(request(d)) == {"tizanidine": 16}
    assert how(request(d)) == "2 tablets × 4 mg, twice a day = 16 mg/day"


def test_dose_range_uses_the_high_end() -> None:
    d = dosage(frequency=3)
    d["doseAndRate"] = [{"doseRange": {"low": qty(1, "tablet"), "high": qty(2, "tablet")}}]
    assert mg(request(d)) == {"tizanidine": 24}


def test_baclofen_thirty_mg_tid() -> None:
    resource = request(dosage(30, "mg", frequency=3))
    assert mg(resource, {"baclofen": Strength(10.0)}, ["baclofen"]) == {"baclofen": 90}


def test_liquid_baclofen_ml() -> None:
    resource = request(dosage(10, "mL", frequency=3))
    strengths = {"baclofen": Strength(1.0, per_ml=True)}
    assert mg(resource, strengths, ["baclofen"]) == {"baclofen": 30}
    assert how(resource, strengths, ["baclofen"]) == "10 mL × 1 mg/mL, 3 times a day = 30 mg/day"


def test_ml_needs_a_per_ml_strength_and_tablets_a_per_unit_one() -> None:
    assert mg(request(dosage(10, "mL", frequency=3))) is None
    liquid = {"baclofen": Strength(1.0, per_ml=True)}
    assert mg(request(dosage(2, "tablet", frequency=3)), liquid, ["baclofen"]) is None


def test_hydrocodone_acetaminophen_prn_reads_the_stated_maximum() -> None:
    d = dosage(
        2,
        "tablet",
        frequency=1,
        period=4,
        period_unit="h",
        asNeededBoolean=True,
        maxDosePerPeriod={"numerator": qty(8, "tablet"), "denominator": qty(1, "d", code="d")},
    )
    dose = daily_dose(request(d), NORCO, NORCO_INGREDIENTS)
    assert dose is not None
    assert dict(dose.mg) == {"acetaminophen": 2600, "hydrocodone": 40}
    assert dose.how == (
        "as needed: at most 8 tablets a day × 325 mg / 5 mg"
        " = 2,600 mg/day acetaminophen; 40 mg/day hydrocodone"
    )


def test_stated_maximum_single_ingredient_how() -> None:
    d = dosage(
        1,
        "tablet",
        asNeededCodeableConcept={"text": "pain"},
        maxDosePerPeriod={"numerator": qty(8, "tablet"), "denominator": qty(24, "h", code="h")},
    )
    resource = request(d)
    got = daily_dose(resource, {"acetaminophen": Strength(325.0)}, ["acetaminophen"])
    assert got == DailyDose(
        {"acetaminophen": 2600}, "as needed: at most 8 tablets a day × 325 mg = 2,600 mg/day"
    )


def test_prn_without_maximum_uses_the_schedule() -> None:
    resource = request(
        dosage(2, "tablet", frequency=1, period=4, period_unit="h", asNeededBoolean=True)
    )
    got = daily_dose(resource, NORCO, NORCO_INGREDIENTS)
    assert got is not None
    assert dict(got.mg) == {"acetaminophen": 3900, "hydrocodone": 60}
    assert got.how.startswith("as needed: 2 tablets × 325 mg / 5 mg, 6 times a day = ")


def test_maximum_in_mg_on_a_single_ingredient() -> None:
    d = {"maxDosePerPeriod": {"numerator": qty(4, "g", code="g"), "denominator": qty(1, "d")}}
    assert mg(request(d), {}, ["acetaminophen"]) == {"acetaminophen": 4000}


def test_uncomputable_maximum_falls_back_to_the_schedule() -> None:
    d = dosage(2, "tablet", frequency=2)
    d["maxDosePerPeriod"] = {"numerator": qty(8, "tablet"), "denominator": qty(1, "fortnight")}
    assert mg(request(d)) == {"tizanidine": 16}


def test_mg_dose_on_a_combination_is_ambiguous() -> None:
    assert daily_dose(request(dosage(650, "mg", frequency=4)), NORCO, NORCO_INGREDIENTS) is None


def test_combination_with_one_strength_unknown_keeps_the_other() -> None:
    strengths = {"acetaminophen": Strength(325.0)}
    got = mg(request(dosage(2, "tablet", frequency=4)), strengths, NORCO_INGREDIENTS)
    assert got == {"acetaminophen": 2600}


def test_concurrent_dosages_add_up() -> None:
    resource = request(
        dosage(4, "mg", frequency=2), dosage(8, "mg", timing={"code": {"text": "HS"}})
    )
    assert mg(resource) == {"tizanidine": 16}
    assert how(resource) == "4 mg twice a day + 8 mg once a day = 16 mg/day"


def test_same_sequence_is_concurrent() -> None:
    resource = request(
        dosage(4, "mg", frequency=2, sequence=1), dosage(8, "mg", frequency=1, sequence=1)
    )
    assert mg(resource) == {"tizanidine": 16}


def test_sequential_dosages_take_the_largest_step() -> None:
    resource = request(
        dosage(4, "mg", frequency=1, sequence=1),
        dosage(4, "mg", frequency=3, sequence=2),
        dosage(8, "mg", frequency=1, sequence=3),
    )
    assert mg(resource) == {"tizanidine": 12}
    assert how(resource) == "largest of 3 steps: 4 mg 3 times a day = 12 mg/day"


def test_medication_statement_dosage() -> None:
    statement = {"resourceType": "MedicationStatement", "dosage": [dosage(4, "mg", frequency=3)]}
    assert mg(statement) == {"tizanidine": 12}


def test_one_unreadable_dose_makes_the_total_unknown() -> None:
    resource = request(dosage(4, "mg", frequency=3), dosage("8", "mg", frequency=1))
    assert mg(resource) is None


def test_dose_without_timing_or_text_is_none() -> None:
    assert mg(request(dosage(4, "mg"))) is None


def test_unclear_text_next_to_a_clear_dosage_makes_the_total_unknown() -> None:
    unclear = {"text": "1 tablet in the morning and 2 tablets at night"}
    assert mg(request(dosage(4, "mg", frequency=3), unclear)) is None


def test_dosage_without_any_dose_is_skipped() -> None:
    resource = request(dosage(4, "mg", frequency=3), {"text": "Take with food"})
    assert mg(resource) == {"tizanidine": 12}


def test_structure_and_text_fill_each_other() -> None:
    assert mg(request(dosage(2, "tablet", text="every 6 hours"))) == {"tizanidine": 32}
    assert mg(request(dosage(frequency=3, text="2 tablets"))) == {"tizanidine": 24}


def test_patient_instruction_is_read_when_text_gives_nothing() -> None:
    assert mg(request({"patientInstruction": "take 16 mg three times a day"})) == {"tizanidine": 48}


def test_how_formats_fractions_and_thousands() -> None:
    resource = request(dosage(0.5, "tablet", frequency=2))
    assert how(resource) == "0.5 tablet × 4 mg, twice a day = 4 mg/day"
    micro = request(dosage(25, "mcg", frequency=1))
    assert how(micro, {}, ["levothyroxine"]) == "25 mcg once a day = 0.025 mg/day"


def test_how_stays_short() -> None:
    dosages = [dosage(1, "mg", frequency=n) for n in range(1, 20)]
    dose = daily_dose(request(*dosages), TIZANIDINE, ["tizanidine"])
    assert dose is not None
    assert dose.mg == {"tizanidine": 190}
    assert len(dose.how) <= 120
    assert dose.how.endswith("= 190 mg/day")


# ---- free text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16 mg three times a day", 48),
        ("4 tablets three times a day", 48),
        ("take 2 tabs PO q6h prn", 32),
        ("1 tablet by mouth every 4 to 6 hours as needed, max 8 tablets per day", 32),
        ("40 mg once daily", 40),
        ("10 mg at bedtime", 10),
        ("Take 1 tablet (4 mg) by mouth 3 times daily", 12),
        ("TAKE ONE TABLET BY MOUTH TWICE DAILY", 8),
        ("2 tablets BID", 16),
        ("1 tab tid", 12),
        ("1 tablet qid", 16),
        ("1 tab q 8 h", 12),
        ("1-2 tabs q4-6h prn", 48),
        ("1/2 tablet twice a day", 4),
        ("2 tablets 3x/day", 24),
        ("1 tab every other day", 2),
        ("1 tablet in the morning and at bedtime", 8),
        ("4 mg up to 3 times per day", 12),
        ("take 8 mg daily for 10 days", 8),
        ("1 tablet twice daily (BID)", 8),
        ("max 6 tabs/day", 24),
        ("2 mg q6h, not to exceed 24 mg in 24 hours", 24),
        ("2 mg every 6 hours, no more than 6 mg daily", 6),
        ("Take 2 tablets (8 mg total) by mouth every 8 (eight) hours", 24),
        ("Take 1 capsule by mouth 3 (three) times daily.", 12),
        ("1 tab every twelve hours", 8),
        ("Take 1 tablet every 6 (six) hours as needed. Max Daily Amount: 5 tablets", 20),
        ("Take 1 tablet every 6 (six) hours as needed. Max Daily Amount: 40 mg", 40),
    ],
)
def test_text(text: str, expected: float) -> None:
    assert mg(request({"text": text})) == {"tizanidine": expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 g four times daily", 4000),
        ("650 mg every 4 hours", 3900),
        ("1,000 mg q4h not to exceed 4,000 mg in 24 hours", 4000),
        ("2 tablets every 6 hours", 4000),
        ("1 tablet q6h prn, not to exceed 4 g acetaminophen per day", 2000),
        ("500 mg 2 tablets every 6 hours", None),  # two different doses
    ],
)
def test_text_acetaminophen(text: str, expected: float | None) -> None:
    got = mg(request({"text": text}), {"acetaminophen": Strength(500.0)}, ["acetaminophen"])
    assert got == (None if expected is None else {"acetaminophen": expected})


def test_text_how() -> None:
    text = "1 tablet by mouth every 4 to 6 hours as needed, max 8 tablets per day"
    assert how(request({"text": text}), {"acetaminophen": Strength(325.0)}, ["acetaminophen"]) == (
        "at most 8 tablets a day × 325 mg = 2,600 mg/day"
    )
    assert how(request({"text": "16 mg three times a day"})) == "16 mg 3 times a day = 48 mg/day"


def test_text_combination_tablets() -> None:
    text = "1-2 tablets every 4-6 hours as needed, max 8 tablets/day"
    got = mg(request({"text": text}), NORCO, NORCO_INGREDIENTS)
    assert got == {"acetaminophen": 2600, "hydrocodone": 40}


def test_text_mg_on_a_combination_is_ambiguous_but_a_tablet_count_is_not() -> None:
    assert mg(request({"text": "650 mg every 6 hours"}), NORCO, NORCO_INGREDIENTS) is None
    text = "1 tablet (5-325 mg) every 6 hours"
    assert mg(request({"text": text}), NORCO, NORCO_INGREDIENTS) == {
        "acetaminophen": 1300,
        "hydrocodone": 20,
    }


@pytest.mark.parametrize(
    "text",
    [
        "Take as directed",
        "16 mg",  # no frequency
        "three times a day",  # no amount
        "take 2 at bedtime",  # two of what?
        "take 1 by mouth every 6 hours",
        "1 tablet in the morning and 2 tablets at night",
        "1 tab bid and 1 tab tid",
        "0.1 mg/kg every 6 hours",
        "2 mg/hr continuous",
        "max 2 tablets",
        "",
        "mg mg mg times a day every q h",
        "0 mg three times a day",
        "99999999999 mg daily",
        "1/0 tablet daily",
    ],
)
def test_unclear_text_gives_none(text: str) -> None:
    assert mg(request({"text": text})) is None


def test_text_reads_only_a_bounded_prefix() -> None:
    long = "x " * 400 + "16 mg three times a day"
    assert mg(request({"text": long})) is None
    assert mg(request({"text": "16 mg three times a day " + "x " * 400})) == {"tizanidine": 48}


def test_huge_text_finishes() -> None:
    text = ("1 tablet every 4 to 6 hours max 8 tablets per day " * 25_000)[:1_000_000]
    daily_dose(request({"text": text}, {"text": "9" * 1_000_000}), TIZANIDINE, ["tizanidine"])
    daily_dose(request({"patientInstruction": "q" * 1_000_000}), TIZANIDINE, ["tizanidine"])


# ---- malformed input ----------------------------------------------------------------------------

BAD_VALUES = [
    "16",
    None,
    True,
    -4,
    0,
    float("nan"),
    float("inf"),
    -float("inf"),
    1e300,
    10**400,
    [16],
    {"v": 1},
]


@pytest.mark.parametrize("value", BAD_VALUES)
def test_bad_dose_values(value: Any) -> None:
    assert mg(request(dosage(value, "mg", frequency=3))) is None


@pytest.mark.parametrize("value", BAD_VALUES)
def test_bad_frequency_and_period(value: Any) -> None:
    d = dosage(4, "mg", timing={"repeat": {"frequency": value, "period": 1, "periodUnit": "d"}})
    if value is not None:  # an absent frequency means once
        assert mg(request(d)) is None
    d = dosage(4, "mg", timing={"repeat": {"frequency": 1, "period": value, "periodUnit": "d"}})
    if value is not None:
        assert mg(request(d)) is None


@pytest.mark.parametrize("value", BAD_VALUES)
def test_bad_maximum_values(value: Any) -> None:
    d = {"maxDosePerPeriod": {"numerator": qty(value, "tablet"), "denominator": qty(1, "d")}}
    assert mg(request(d)) is None
    d = {"maxDosePerPeriod": {"numerator": qty(8, "tablet"), "denominator": qty(value, "d")}}
    if value is not None:
        assert mg(request(d)) is None


@pytest.mark.parametrize(
    "resource",
    [
        None,
        "MedicationRequest",
        [],
        42,
        {},
        {"dosageInstruction": None},
        {"dosageInstruction": "take 16 mg three times a day"},
        {"dosageInstruction": {"text": "16 mg three times a day"}},
        {"dosageInstruction": [None, 1, "x", [], [{}]]},
        {"dosageInstruction": [{}]},
        {"dosageInstruction": [{"doseAndRate": "2 tablets", "timing": "BID"}]},
        {"dosageInstruction": [{"doseAndRate": [{"doseQuantity": [2]}], "timing": ["BID"]}]},
        {"dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 2, "unit": 5}}]}]},
        {"dosageInstruction": [{"doseAndRate": [{"doseRange": {"low": qty(1, "tablet")}}]}]},
        {"dosageInstruction": [{"doseAndRate": [{"doseRange": "1-2"}], "timing": {}}]},
        {"dosageInstruction": [dosage(2, "tablet", timing={"repeat": "BID"})]},
        {"dosageInstruction": [dosage(2, "tablet", timing={"repeat": {"frequency": 2}})]},
        {"dosageInstruction": [dosage(2, "tablet", frequency=2, period_unit="fortnight")]},
        {"dosageInstruction": [dosage(2, "tablet", timing={"repeat": {"periodUnit": 5}})]},
        {"dosageInstruction": [dosage(2, "tablet", timing={"code": "BID"})]},
        {"dosageInstruction": [dosage(2, "tablet", timing={"code": {"coding": "BID"}})]},
        {"dosageInstruction": [dosage(2, "tablet", timing={"code": {"coding": [{"code": 2}]}})]},
        {"dosageInstruction": [dosage(2, "tablet", timing={"code": {"text": "Q0H"}})]},
        {"dosageInstruction": [dosage(2, "tablet", timing={"repeat": {"when": [{}, []]}})]},
        {"dosageInstruction": [dosage(2, "drop", frequency=2)]},
        {"dosageInstruction": [dosage(2, "mg/kg", frequency=2)]},
        {"dosageInstruction": [{"maxDosePerPeriod": "8 tablets a day"}]},
        {"dosageInstruction": [{"maxDosePerPeriod": [{"numerator": 8, "denominator": 1}]}]},
        {"dosageInstruction": [{"maxDosePerPeriod": {"numerator": qty(8), "denominator": {}}}]},
        {"dosage": "16 mg"},
        {"dosage": [[dosage(16, "mg", frequency=3)]]},
    ],
)
def test_malformed_resources_give_none(resource: Any) -> None:
    assert mg(resource) is None


@pytest.mark.parametrize(
    ("strengths", "ingredients"),
    [
        (None, None),
        ("tizanidine", "tizanidine"),
        ({"tizanidine": 4}, ["tizanidine"]),
        ({"tizanidine": Strength(float("nan"))}, ["tizanidine"]),
        ({"tizanidine": Strength(-4.0)}, ["tizanidine"]),
        ({"tizanidine": Strength("4")}, ["tizanidine"]),  # type: ignore[arg-type]
        ({4: Strength(4.0)}, [4, None]),
        (TIZANIDINE, 42),
        (TIZANIDINE, []),
    ],
)
def test_bad_strengths_or_ingredients_give_none(strengths: Any, ingredients: Any) -> None:
    resource = request(dosage(2, "tablet", frequency=3))
    assert daily_dose(resource, strengths, ingredients) is None


def test_malformed_text_does_not_spoil_good_structure() -> None:
    d = dosage(2, "tablet", frequency=2, text=5, patientInstruction=["x"])
    assert mg(request(d)) == {"tizanidine": 16}


def test_sequence_that_is_not_a_number_counts_as_concurrent() -> None:
    resource = request(
        dosage(4, "mg", frequency=1, sequence="1"), dosage(4, "mg", frequency=1, sequence=True)
    )
    assert mg(resource) == {"tizanidine": 8}


def test_result_is_read_only() -> None:
    dose = daily_dose(request(dosage(16, "mg", frequency=3)), TIZANIDINE, ["tizanidine"])
    assert dose is not None
    with pytest.raises(TypeError):
        dose.mg["tizanidine"] = 1  # type: ignore[index]


# ---- each product read once, each text once (an order set of thousands of drafts) -----------

NORCO_NAME = "acetaminophen 325 MG / hydrocodone bitartrate 5 MG Oral Tablet"


def _med(text: Any, product: str = NORCO_NAME, dosage: dict[str, Any] | None = None) -> Any:
    from mappings.profile import Medication, new_evidence

    evidence = new_evidence("MedicationRequest/x", "medication", "text", "", "", None)
    dosage = {"text": text} if dosage is None else dosage
    return Medication(
        "MedicationRequest/x",
        product,
        tuple(NORCO_INGREDIENTS),
        frozenset(),
        "draft",
        evidence,
        dosage=(dosage,),
        product=product,
    )


def _counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[Any]:
    import mappings.dosing

    calls: list[Any] = []
    real = getattr(mappings.dosing, name)

    def counted(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(mappings.dosing, name, counted)
    return calls


def test_a_product_is_read_once_whatever_its_drafts(monkeypatch: pytest.MonkeyPatch) -> None:
    import mappings.dosing
    from mappings.dosing import dose_of
    from mappings.memo import Memo

    monkeypatch.setattr(mappings.dosing, "_PRODUCTS", Memo(max_bytes=1 << 20, max_key_chars=1000))
    parsed = _counting(monkeypatch, "parse_strengths")
    doses = [dose_of(_med(f"2 tablets every 4 hours (draft {i})")) for i in range(50)]
    doses += [dose_of(_med("1 tablet daily", product="tizanidine 4 MG Oral Tablet"))]
    assert len(parsed) == 2  # one per product, not one per draft
    assert doses[0] is not None and doses[0].mg["acetaminophen"] == 3900


def test_each_text_is_read_once_and_each_reading_worked_out_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mappings.dosing import dose_of

    read, worked_out = _counting(monkeypatch, "_read_text"), _counting(monkeypatch, "_daily")
    answers: dict[Any, Any] = {}  # what a call keeps (cards.safety.MedIndex)
    texts = [f"2 tablets by mouth every 4 hours (draft {i})" for i in range(40)]
    texts += [f"1 tablet every 6 hours (note {i})" for i in range(40)]
    doses = [dose_of(_med(t), answers) for t in texts]
    assert len(worked_out) == 2  # one per distinct reading: 2 tablets 6 times, 1 tablet 4 times
    assert len(read) == len(texts) + 2  # each text once, and again for each new reading
    assert [d.mg["acetaminophen"] for d in doses if d] == [3900.0] * 40 + [1300.0] * 40


@pytest.mark.parametrize(
    "dosage",
    [
        {"text": "2 tablets every 4 hours"},
        {"text": "2 tablets every 4 hours", "sequence": 1},
        {"text": "2 tablets every 4 hours", "asNeededBoolean": True},
        {
            "text": "2 tablets every 4 hours",
            "maxDosePerPeriod": {"numerator": qty(6, "tablet"), "denominator": qty(1, "d")},
        },
        {
            "text": "2 tablets every 4 hours",
            "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
        },
        {"text": "2 tablets every 4 hours", "doseAndRate": [{"doseQuantity": qty(1, "tablet")}]},
        {"text": "2 tablets every 4 hours", "patientInstruction": "max 4 tablets a day"},
        {"text": "1 tablet in the morning and 2 at night"},
        {"text": "take as directed"},
        {"text": None},
        {"text": 12},
        {},
    ],
)
def test_a_call_remembering_readings_gives_what_each_dosage_gives(dosage: dict[str, Any]) -> None:
    from mappings.dosing import dose_of

    med = _med(None, dosage=dosage)
    answers: dict[Any, Any] = {}
    assert dose_of(med, answers) == dose_of(med, answers) == dose_of(med)
