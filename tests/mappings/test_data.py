"""The data files themselves: complete, consistent, and covering every concept the rules use."""

from __future__ import annotations

from itertools import combinations

import pytest

from mappings import concepts as C
from mappings.loader import CATEGORIES
from mappings.terminology import Terminology, normalise_code

RULE_CONCEPTS = (
    C.MS,
    C.BACK_PAIN,
    C.NEUROPATHIC,
    C.SPASTICITY,
    C.MUSCULOSKELETAL,
    *C.HARD_RED_FLAGS,
    *C.RISK_FACTORS,
    *C.MS_COMMON_FINDINGS,
    *C.SAFETY_FINDINGS,
    *C.ORDER_KINDS,
)
# Kinds set from the resource type rather than from a code or words.
STRUCTURAL = {"medication"}

# A prefix inside another concept's prefix is allowed only as a deliberate refinement.
ALLOWED_NESTING = {
    ("G35", "G35.A"),
    ("G35", "G35.B"),
    ("G35", "G35.C"),
    ("G35", "G35.D"),
    ("M80", "M80.08"),
    ("M80", "M80.88"),
    ("C", "C79.51"),
    ("C", "C79.52"),
    ("C", "C41.2"),
    ("C", "C80.1"),
    ("C", "C44"),
    ("C", "C90.0"),  # myeloma: a hard red flag by code as by words (clinical rules section 3)
}


def test_every_code_row_has_system_code_display_and_source(term: Terminology) -> None:
    assert term.entries
    for entry in term.entries:
        assert entry.system.startswith(("http://", "urn:")), entry
        assert entry.code and entry.display and entry.confirmed, entry
        assert entry.source.startswith("S"), entry


@pytest.mark.parametrize("concept", RULE_CONCEPTS)
def test_every_rule_concept_is_defined_with_a_code_or_words(
    term: Terminology, concept: str
) -> None:
    assert concept in term.concepts
    if concept in STRUCTURAL:
        return
    has_code = bool(term.codes_for(concept))
    has_words = any(entry.concept == concept for entry in term.text._entries)  # type: ignore[union-attr]
    assert has_code or has_words, concept


def test_rule_concept_categories(term: Terminology) -> None:
    for concept in C.HARD_RED_FLAGS:
        assert term.concepts[concept].category == "hard_red_flag"
    for concept in C.RISK_FACTORS:
        assert term.concepts[concept].category == "risk_factor"
    for concept in C.ORDER_KINDS:
        assert term.concepts[concept].category == "order_kind"
    assert all(c.category in CATEGORIES for c in term.concepts.values())


def test_no_code_maps_to_two_concepts(term: Terminology) -> None:
    seen: dict[tuple[str, str, str], str] = {}
    for entry in term.entries:
        key = (entry.system, normalise_code(entry.code), entry.match)
        assert seen.setdefault(key, entry.concept) == entry.concept, entry


def test_nested_prefixes_are_deliberate(term: Terminology) -> None:
    prefixes = [e for e in term.entries if e.match == "prefix"]
    codes = term.entries
    for outer in prefixes:
        for inner in codes:
            if inner is outer or inner.system != outer.system or inner.concept == outer.concept:
                continue
            if inner.concept == "reviewed_exclusion":
                continue  # a reviewed code that does not mean what its prefix means: deliberate
            if normalise_code(inner.code).startswith(normalise_code(outer.code)):
                assert (outer.code, inner.code) in ALLOWED_NESTING, (outer, inner)


def test_prefix_rows_do_not_overlap_each_other_within_a_concept(term: Terminology) -> None:
    for a, b in combinations([e for e in term.entries if e.match == "prefix"], 2):
        if a.system == b.system and a.concept == b.concept:
            na, nb = normalise_code(a.code), normalise_code(b.code)
            assert not (na.startswith(nb) or nb.startswith(na)), (a, b)


def test_every_class_ingredient_is_in_the_product_table(term: Terminology) -> None:
    ingredients = {i for found in term.product_ingredients.values() for i in found}
    assert set(term.ingredient_classes) <= ingredients
    # ... and every product ingredient has a class, so no product is silently unclassified.
    assert ingredients <= set(term.ingredient_classes)


@pytest.mark.parametrize("drug_class", C.DRUG_CLASSES)
def test_every_drug_class_has_an_ingredient(term: Terminology, drug_class: str) -> None:
    assert any(drug_class in classes for classes in term.ingredient_classes.values())


@pytest.mark.parametrize(
    ("ingredient", "classes"),
    [
        ("amitriptyline", {"tca", "serotonergic"}),
        ("tramadol", {"opioid", "serotonergic"}),
        ("duloxetine", {"snri", "serotonergic"}),
        ("ciprofloxacin", {"cyp1a2_inhibitor"}),
        ("fluvoxamine", {"ssri", "serotonergic", "cyp1a2_inhibitor"}),
        ("baclofen", {"antispasticity"}),
        ("tizanidine", {"antispasticity"}),
        ("dantrolene", {"antispasticity"}),
        ("cyclobenzaprine", {"muscle_relaxant_other"}),
        ("gabapentin", {"gabapentinoid"}),
        ("pregabalin", {"gabapentinoid"}),
        ("lamotrigine", {"neuropathic_anticonvulsant"}),
        ("ibuprofen", {"nsaid"}),
        ("acetaminophen", {"acetaminophen"}),
        ("glatiramer", {"dmt_injectable"}),
        ("interferon beta-1a", {"dmt_injectable"}),
        ("ocrelizumab", {"dmt_other"}),
        ("warfarin", {"anticoagulant"}),
        ("clopidogrel", {"antiplatelet"}),
        ("onabotulinumtoxinA".lower(), {"botulinum_toxin"}),
        ("prednisone", {"systemic_corticosteroid"}),
        ("phenelzine", {"maoi", "serotonergic"}),
        ("diazepam", {"benzodiazepine"}),
        ("dronabinol", {"cannabinoid"}),
    ],
)
def test_drug_classes(term: Terminology, ingredient: str, classes: set[str]) -> None:
    assert classes <= term.ingredient_classes[ingredient]


def test_every_file_has_a_source_and_version(term: Terminology) -> None:
    files = {p.name for p in term.data_dir.glob("*.csv")}
    assert files == set(term.sources)
    for source in term.sources.values():
        assert source.source and source.version.year >= 2025


def test_unverified_rows_say_so(term: Terminology) -> None:
    """Safety-finding prefixes were not verified against a source: they carry a 'verify' note."""
    for entry in term.entries:
        if entry.file == "safety.csv":
            assert entry.confirmed.startswith("no:"), entry
        assert entry.confirmed in ("yes", "secondary") or entry.confirmed.startswith(
            ("yes:", "secondary:", "partial:", "no:")
        ), entry
