"""Short clinical names (mappings/short_names.py) and their data (mappings/data/names/)."""

from __future__ import annotations

from datetime import date

import pytest

from mappings import short_names
from mappings.datafile import source_line
from mappings.profile import DraftOrder, Evidence, Measurement, Medication
from mappings.terminology import Terminology

CPT = "http://www.ama-assn.org/go/cpt"
LOINC = "http://loinc.org"


# ---- the data ---------------------------------------------------------------------------------


def test_every_file_names_its_source():
    for path in short_names.DATA_DIR.glob("*.csv"):
        assert source_line(path)  # raises when the source line is missing


def test_every_dose_form_of_the_products_and_routes_has_short_words(term: Terminology):
    forms = set(term.product_dose_forms.values()) | set(term.knowledge.dose_form_names)
    missing = forms - set(short_names.names().forms)
    assert not missing


def test_every_clinical_and_branded_product_name_reads(term: Terminology):
    """Each SCD and SBD name of the product table has a short name, no longer than it but for
    units written out ("UNT": "units", "MG/ACTUAT": "mg/actuation"), and shorter on the whole."""
    unread, saved, read = [], 0, 0
    for rxcui, name in term.product_names.items():
        if term.product_tty[rxcui] not in ("SCD", "SBD"):
            continue
        found = short_names.product_names(name, term.product_ingredients[rxcui])
        if not found or len(found[0]) > len(name) + 2 * name.count("UNT") + 3 * name.count("ACT"):
            unread.append(name)
        saved += len(name) - len(found[0]) if found else 0
        read += 1
    assert not unread, unread[:10]
    assert saved > 8 * read  # characters a name, on average


def test_every_imaging_code_has_a_modality_and_region(term: Terminology):
    kinds = short_names.names().imaging_kinds
    assert kinds <= set(term.concepts)
    for entry in term.entries:
        if entry.concept in kinds:
            found = short_names.imaging([entry.display])
            assert found and found.split(" ", 1)[0] in ("MRI", "CT", "X-ray"), entry


def test_every_observation_named_is_a_concept(term: Terminology):
    assert set(short_names.names().observations) <= set(term.concepts)


# ---- drugs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "ingredients", "short"),
    [
        ("oxycodone hydrochloride 5 MG Oral Tablet", ("oxycodone",), "oxycodone 5 mg tablet"),
        (
            "duloxetine 60 MG Delayed Release Oral Capsule",
            ("duloxetine",),
            "duloxetine 60 mg delayed-release capsule",
        ),
        (
            "duloxetine 60 MG Delayed Release Oral Capsule [Cymbalta]",
            ("duloxetine",),
            "duloxetine 60 mg delayed-release capsule",
        ),
        (
            "acetaminophen 325 MG / hydrocodone bitartrate 5 MG Oral Tablet",
            ("acetaminophen", "hydrocodone"),
            "acetaminophen 325 mg / hydrocodone 5 mg tablet",
        ),
        (
            "0.5 ML interferon beta-1a 0.06 MG/ML Prefilled Syringe",
            ("interferon beta-1a",),
            "interferon beta-1a 0.06 mg/mL 0.5 mL prefilled syringe",
        ),
        (
            "24 HR tramadol hydrochloride 100 MG Extended Release Oral Tablet",
            ("tramadol",),
            "tramadol 100 mg 24 h extended-release tablet",
        ),
        # the salt stays where products of that form differ by it: naproxen and naproxen sodium
        ("naproxen sodium 220 MG Oral Tablet", ("naproxen",), "naproxen sodium 220 mg tablet"),
        # a Synthea display without a dose form, capitalised
        ("Verapamil Hydrochloride 40 MG", ("verapamil",), "verapamil 40 mg"),
    ],
)
def test_a_product_name_is_ingredient_strength_and_form(name, ingredients, short):
    assert short_names.product_name(name, ingredients) == short


def test_names_that_do_not_read_as_products_are_not_shortened():
    assert short_names.product_name("Levora 0.15/30 28 Day Pack") is None
    pack = "{21 (norethindrone 1 MG Oral Tablet) / 7 (inert 1 MG Oral Tablet) } Pack [Loestrin]"
    assert short_names.product_name(pack) is None
    assert short_names.product_name("Oxycodone 5mg tab") is None


def _medication(display: str, product: str = "", ingredients=("oxycodone",)) -> Medication:
    evidence = Evidence("MedicationRequest/m", "medication", "text", display, display)
    return Medication(
        "MedicationRequest/m",
        display,
        ingredients,
        frozenset({"opioid"}),
        "active",
        evidence,
        product=product or display,
    )


def test_a_medication_is_named_by_its_product_then_by_its_ingredient():
    coded = _medication("Oxycodone HCl 5mg tab", "oxycodone hydrochloride 5 MG Oral Tablet")
    assert short_names.medication_names(coded) == ("oxycodone 5 mg tablet", "oxycodone")
    assert short_names.medication(_medication("Oxycodone 5mg tab")) == "Oxycodone 5mg tab"


# ---- orders -----------------------------------------------------------------------------------


def _order(display: str, code: str = "", kind: str = "spine_imaging") -> DraftOrder:
    ref = "ServiceRequest/o"
    system, shown = (CPT, code) if code else ("text", display)
    evidence = (Evidence(ref, kind, system, shown, display),)
    return DraftOrder(ref, "ServiceRequest", "o", display, frozenset({kind}), evidence=evidence)


def test_an_imaging_order_is_named_by_modality_and_region():
    cpt = (
        "Magnetic resonance (eg, proton) imaging, spinal canal and contents, lumbar; without "
        "contrast material"
    )
    assert short_names.order(_order(cpt, "72148")) == "MRI lumbar spine"
    # the EHR's text names no region: the code's display (orders.csv) does
    assert short_names.order(_order("Imaging per protocol", "72148")) == "MRI lumbar spine"
    assert short_names.imaging(["MRI of the lumbar and thoracic spine"]) == (
        "MRI lumbar and thoracic spine"
    )
    assert short_names.imaging(["Plain X-ray of lumbar and sacral spine"]) == (
        "X-ray lumbosacral spine"
    )
    assert short_names.imaging(["MRI spine"]) == "MRI spine"
    assert short_names.imaging(["Referral to physiotherapy"]) is None


def test_other_orders_keep_their_display():
    bed_rest = _order("Strict bed rest for 3 days", kind="bed_rest")
    assert short_names.order(bed_rest) == "Strict bed rest for 3 days"
    # words that look like imaging on an order that is not imaging are not read as a scan
    injection = _order("CT-guided lumbar epidural injection", kind="pain_management")
    assert short_names.order(injection) == "CT-guided lumbar epidural injection"


# ---- results ----------------------------------------------------------------------------------


def _egfr(value: float, unit: str) -> Measurement:
    evidence = Evidence("Observation/e", "egfr", LOINC, "33914-3", "Estimated GFR", date.today())
    return Measurement(value, unit, date.today(), evidence)


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (40.88682632762795, "mL/min/{1.73_m2}", "eGFR 41 mL/min/1.73 m²"),
        (38.5, "mL/min/1.73m2", "eGFR 39 mL/min/1.73 m²"),  # half up, as labs report
        (62, "ml/min/1.73 M2", "eGFR 62 mL/min/1.73 m²"),
        (55, "", "eGFR 55 mL/min/1.73 m²"),  # no unit: the one eGFR is reported in
        (18.467, "mL/min", "eGFR 18 mL/min"),
        (70, "mL/min/1.73m*2", "eGFR 70 mL/min/1.73m*2"),  # unknown: as sent
    ],
)
def test_a_result_is_shown_rounded_with_a_clinicians_unit(value, unit, shown):
    assert short_names.measured(_egfr(value, unit)) == shown


def test_units_and_numbers():
    assert short_names.unit("Cel") == "°C"
    assert short_names.unit("umol/L") == "µmol/L"
    assert short_names.number(37.25, 1) == "37.3"
    assert short_names.number(1.005, 2) == "1.01"
    assert short_names.number(0.4, 0) == "0"
