"""Loading: caching, the data-dir override, and DataError naming file and row for bad edits."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mappings import DataError, load_terminology
from mappings.loader import DATA_DIR, DATA_DIR_ENV, build_terminology


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def test_load_is_cached_per_directory(data_dir: Path) -> None:
    assert load_terminology() is load_terminology()
    copy = load_terminology(data_dir)
    assert copy is load_terminology(str(data_dir))
    assert copy is not load_terminology()
    assert copy.lookup("http://snomed.info/sct", "24700007").concept == "ms"  # type: ignore[union-attr]


def test_env_override(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(data_dir))
    assert load_terminology().data_dir == data_dir.resolve()


def test_a_local_value_set_file_is_picked_up(data_dir: Path) -> None:
    (data_dir / "local.csv").write_text(
        "# source: St Elsewhere local codes; version: 2026-01-15\n"
        "concept,system,code,match,display,confirmed,source\n"
        "back_pain,snomed,1234567890,exact,Local back pain code,no: local code,S9\n"
    )
    term = build_terminology(data_dir)
    assert term.lookup("http://snomed.info/sct", "1234567890").concept == "back_pain"  # type: ignore[union-attr]
    assert term.sources["local.csv"].version.isoformat() == "2026-01-15"


def _replace(file: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        path = root / file
        text = path.read_text()
        assert old in text, (file, old)
        path.write_text(text.replace(old, new, 1))

    return edit


def _append(file: str, line: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        with (root / file).open("a") as handle:
            handle.write(line + "\n")

    return edit


def _line_of(root: Path, file: str, needle: str) -> int:
    for number, line in enumerate((root / file).read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


BAD_EDITS = [
    (
        "unknown match",
        "ms_and_pain.csv",
        _replace("ms_and_pain.csv", "G35,prefix", "G35,fuzzy"),
        "G35,fuzzy",
        "match",
    ),
    (
        "unknown concept",
        "red_flags.csv",
        _replace("red_flags.csv", "cauda_equina,snomed", "caudaequina,snomed"),
        "caudaequina",
        "concept",
    ),
    (
        "missing display",
        "orders.csv",
        _replace("orders.csv", "Mri lumbar spine w/o dye", ""),
        "72148",
        "display",
    ),
    (
        "unknown system",
        "observations.csv",
        _replace("observations.csv", "egfr,loinc,62238-1", "egfr,lonic,62238-1"),
        "lonic",
        "system",
    ),
    (
        "bad source id",
        "safety.csv",
        _replace(
            "safety.csv", "verify,S9\ngi_bleed,icd10cm,K26", "verify,X1\ngi_bleed,icd10cm,K26"
        ),
        "K25,prefix",
        "source",
    ),
    (
        "conflicting code",
        "orders.csv",
        _append("orders.csv", "physiotherapy,cpt,72148,exact,Something else,yes,S3"),
        "physiotherapy,cpt,72148",
        "conflicts",
    ),
    (
        "duplicate code",
        "orders.csv",
        _append("orders.csv", "spine_imaging,cpt,72148,exact,Duplicate,yes,S3"),
        "Duplicate",
        "duplicates",
    ),
    (
        "too few columns",
        "ms_and_pain.csv",
        _append("ms_and_pain.csv", "ms,snomed,999"),
        "ms,snomed,999",
        "columns",
    ),
    (
        "code with spaces",
        "red_flags.csv",
        _append("red_flags.csv", "fever,icd10cm,R50 9,exact,Fever,yes,S1"),
        "R50 9",
        "spaces",
    ),
    (
        "unknown category",
        "concepts.csv",
        _replace("concepts.csv", "ms,scope,", "ms,scoop,"),
        "ms,scoop,",
        "category",
    ),
    (
        "bad phrase",
        "concepts.csv",
        _replace("concepts.csv", "clonus |", ".. clonus |"),
        ".. clonus",
        "phrase",
    ),
    (
        "unknown drug class",
        "drug_classes.csv",
        _replace("drug_classes.csv", "baclofen,antispasticity", "baclofen,antispastic"),
        "baclofen,antispastic",
        "drug class",
    ),
    (
        "ingredient not in products",
        "drug_classes.csv",
        _append("drug_classes.csv", "unobtainium,nsaid,"),
        "unobtainium",
        "rxnorm_products",
    ),
    (
        "non-numeric rxcui",
        "rxnorm_products.csv",
        _append("rxnorm_products.csv", "12x,SCD,foo 1 MG,1292,baclofen,test,"),
        "12x,SCD",
        "rxcui",
    ),
    (
        "unknown tty",
        "rxnorm_products.csv",
        _append("rxnorm_products.csv", "123,XYZ,foo 1 MG,1292,baclofen,test,"),
        "123,XYZ",
        "tty",
    ),
    (
        "bad source line",
        "orders.csv",
        _replace("orders.csv", "# source:", "# origin:"),
        "# origin:",
        "source",
    ),
    (
        "bad version date",
        "orders.csv",
        _replace("orders.csv", "version: 2025-05-08", "version: May 2025"),
        "version: May",
        "version",
    ),
]


@pytest.mark.parametrize(
    ("what", "file", "edit", "needle", "message"), BAD_EDITS, ids=[b[0] for b in BAD_EDITS]
)
def test_malformed_file_names_file_and_row(
    data_dir: Path, what: str, file: str, edit: Callable[[Path], None], needle: str, message: str
) -> None:
    edit(data_dir)
    row = _line_of(data_dir, file, needle.rstrip("\n")) if needle else None
    with pytest.raises(DataError) as caught:
        build_terminology(data_dir)
    error = caught.value
    assert error.file == file, what
    assert error.row == row, (what, str(error))
    assert message in error.message, (what, str(error))
    assert str(error).startswith(f"{file}, row {row}: ")


def test_missing_rule_concept_fails(data_dir: Path) -> None:
    text = (data_dir / "concepts.csv").read_text().splitlines()
    kept = [line for line in text if not line.startswith("osteoporosis,")]
    (data_dir / "concepts.csv").write_text("\n".join(kept) + "\n")
    with pytest.raises(DataError) as caught:
        build_terminology(data_dir)
    assert caught.value.file in ("concepts.csv", "red_flags.csv")
    assert "osteoporosis" in str(caught.value)


def test_missing_file_and_directory(data_dir: Path, tmp_path: Path) -> None:
    (data_dir / "systems.csv").unlink()
    with pytest.raises(DataError, match=r"systems\.csv"):
        build_terminology(data_dir)
    with pytest.raises(DataError, match="not found"):
        build_terminology(tmp_path / "nowhere")


def test_implies_an_undefined_concept(data_dir: Path) -> None:
    _replace(
        "concepts.csv",
        "back_pain musculoskeletal,disc herniation",
        "back_pain nonsense,disc herniation",
    )(data_dir)
    with pytest.raises(DataError, match="nonsense"):
        build_terminology(data_dir)
