"""The medication-safety tables: every row sourced and dated, every name known, bad edits named.

The loader refuses a table that breaks these rules at start-up; these tests hold the shipped
tables to them and check that each kind of bad edit names its file and line.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from cards.content import CARDS
from cards.products import BACLOFEN_MAX_MG_PER_DAY, DRUGS, GABAPENTIN_MAX_MG_PER_DAY
from mappings import DataError, load_terminology
from mappings.knowledge import INTERACTION_CARDS
from mappings.loader import DATA_DIR, KNOWLEDGE_DIR, build_terminology
from mappings.thresholds import THRESHOLDS

ROOT = Path(__file__).resolve().parent.parent.parent
TABLES = DATA_DIR / KNOWLEDGE_DIR


def _rows():
    k = load_terminology().knowledge
    return [
        *k.interactions,
        *k.state_rules,
        *k.dose_limits,
        *k.indications,
        *k.routes,
        *k.kidney_codes,
    ]


def test_every_row_cites_a_source_and_a_review_date() -> None:
    rows = _rows()
    assert len(rows) > 150
    for row in rows:
        assert row.row.source.strip(), row
        assert date(2025, 1, 1) <= row.row.reviewed <= date.today(), row


def test_every_name_is_known_to_the_product_table_and_the_classes() -> None:
    term = load_terminology()
    k = term.knowledge
    in_products = {i for ings in term.product_ingredients.values() for i in ings}
    for row in k.interactions + k.state_rules + k.indications:
        for ref in (
            (row.a, row.b) if hasattr(row, "a") else (row.drug,)  # type: ignore[attr-defined]
        ):
            if ref.kind == "ingredient":
                assert ref.name in in_products, row
            else:
                assert any(ref.name in c for c in term.ingredient_classes.values()), row
    for limit in k.dose_limits:
        assert limit.ingredient in in_products


def test_cards_named_by_contraindicated_pairs_exist() -> None:
    assert set(CARDS) >= INTERACTION_CARDS
    for row in load_terminology().knowledge.interactions:
        assert (row.severity == "contraindicated") == bool(row.card)


def test_dose_numbers_quoted_in_advice_agree_with_the_table() -> None:
    adult = {
        r.ingredient: r.max_mg_per_day
        for r in load_terminology().knowledge.dose_limits
        if not r.state
    }
    assert adult["tizanidine"] == THRESHOLDS.tizanidine_max_mg_per_day
    assert adult["acetaminophen"] == THRESHOLDS.acetaminophen_max_mg_per_day
    assert adult["baclofen"] == BACLOFEN_MAX_MG_PER_DAY
    assert adult["gabapentin"] == GABAPENTIN_MAX_MG_PER_DAY
    for product in DRUGS.values():  # every drug the cards propose has a daily maximum
        assert product.ingredient in adult, product.key


def test_dose_form_column_is_what_the_script_writes() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _CHECK_DOSE_FORMS], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr


_CHECK_DOSE_FORMS = """
import sys
sys.path.insert(0, "scripts")
import fill_dose_forms as f
text = f.PRODUCTS.read_text(encoding="utf-8")
sys.exit(0 if f.filled(text, f.known_forms()) == text else "rxnorm_products.csv dose_form is stale")
"""


def test_routes_of_known_products() -> None:
    term = load_terminology()
    routes = term.product_routes
    assert routes["848956"] == "local"  # ciprofloxacin otic solution
    assert routes["309309"] == "systemic"  # ciprofloxacin oral tablet
    assert routes["1047444"] == "intrathecal"  # Gablofen
    assert routes["135123"] == "local"  # Flector (brand)
    assert "202996" not in routes  # Lioresal: oral and intrathecal in its history, words decide


# ---- bad edits name their file and line ---------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def _edit(file: str, old: str, new: str) -> Callable[[Path], int]:
    def edit(root: Path) -> int:
        path = root / KNOWLEDGE_DIR / file
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines, start=1):
            if old in line:
                lines[number - 1] = line.replace(old, new, 1)
                path.write_text("\n".join(lines) + "\n")
                return number
        raise AssertionError(old)

    return edit


BAD = [
    (
        "no source",
        "interactions.csv",
        _edit(
            "interactions.csv",
            '"Zanaflex (tizanidine) label, sections 4 and 7 (ciprofloxacin)"',
            '""',
        ),
        "source",
    ),
    (
        "unknown ingredient",
        "interactions.csv",
        _edit("interactions.csv", "ingredient:zileuton", "ingredient:zileutonx"),
        "zileutonx",
    ),
    (
        "unknown class",
        "contraindications.csv",
        _edit(
            "contraindications.csv", "class:gabapentinoid,pregnant", "class:gabapentinoidz,pregnant"
        ),
        "gabapentinoidz",
    ),
    (
        "unknown state",
        "contraindications.csv",
        _edit(
            "contraindications.csv", "ingredient:tramadol,epilepsy", "ingredient:tramadol,epilepsyy"
        ),
        "epilepsyy",
    ),
    (
        "bad severity",
        "contraindications.csv",
        _edit("contraindications.csv", ",lactating,avoid,", ",lactating,never,"),
        "severity",
    ),
    (
        "contraindicated without a card",
        "interactions.csv",
        _edit("interactions.csv", "contraindicated,drug-interaction", "contraindicated,"),
        "card",
    ),
    (
        "bad limit",
        "dose_limits.csv",
        _edit("dose_limits.csv", "tizanidine,adult,36", "tizanidine,adult,-36"),
        "positive",
    ),
    (
        "bad review date",
        "dose_limits.csv",
        _edit(
            "dose_limits.csv",
            'section 2 (maximum 36 mg a day)",2026-12-02',
            'section 2 (maximum 36 mg a day)",yesterday',
        ),
        "reviewed",
    ),
    (
        "bad route",
        "routes.csv",
        _edit("routes.csv", "dose_form,Otic Solution,,local", "dose_form,Otic Solution,,ear"),
        "route",
    ),
]


@pytest.mark.parametrize(("what", "file", "edit", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_edit_names_file_and_line(
    data_dir: Path, what: str, file: str, edit: Callable[[Path], int], message: str
) -> None:
    line = edit(data_dir)
    with pytest.raises(DataError) as caught:
        build_terminology(data_dir)
    assert caught.value.file == file, what
    assert caught.value.row == line, (what, str(caught.value))
    assert message in caught.value.message, (what, str(caught.value))


def test_a_product_with_an_unknown_dose_form_is_refused(data_dir: Path) -> None:
    path = data_dir / "rxnorm_products.csv"
    path.write_text(path.read_text().replace(",Otic Solution\n", ",Ear Wash\n", 1))
    with pytest.raises(DataError, match="Ear Wash"):
        build_terminology(data_dir)


def test_thresholds_quoted_in_wording_agree_with_the_nsaid_rows() -> None:
    """The wording quotes mappings/thresholds.py; the checks read contraindications.csv."""
    nsaid = [r for r in load_terminology().knowledge.state_rules if str(r.drug) == "class:nsaid"]
    states = {(c.name, c.op, c.value) for r in nsaid for c in r.state}
    assert ("age", ">=", THRESHOLDS.older_adult_age) in states
    assert ("egfr", "<", THRESHOLDS.egfr_reduced) in states
    assert ("egfr", "<", THRESHOLDS.egfr_severe) in states
