"""ICD-10-CM rows against the CMS code set (the `simple-icd-10-cm` package).

(a) every ICD-10-CM row's code exists and its display is the CMS description (a short
parenthetical note may follow); the known differences are listed in
`tests/fixtures/mappings/icd10cm_display_exceptions.csv`, so a new one fails and so does a fixed
one still listed. (b) every `prefix` row classifies exactly the codes of its reviewed list in
`mappings/data/expansions/`: a code new under a prefix fails until the list is regenerated with
`scripts/expand_prefixes.py` and the diff reviewed. (c) the script's `--check` passes.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip(
    "simple_icd_10_cm",
    reason="simple-icd-10-cm (the CMS ICD-10-CM code set) is not installed: "
    "pip install -e '.[test]'",
)

from mappings.loader import DATA_DIR, build_terminology
from mappings.terminology import Terminology, normalise_code

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "expand_prefixes.py"
EXCEPTIONS = ROOT / "tests" / "fixtures" / "mappings" / "icd10cm_display_exceptions.csv"
NOT_A_CODE = "(not in the code set)"
_NOTE = re.compile(r"^(?P<text>.*?)\s*\((?P<note>[^()]{1,100})\)\s*$")

Problem = tuple[str, str, str, str]  # file, code, display, CMS description


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_expand_prefixes_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


script = _load_script()


@pytest.fixture(scope="module")
def code_set():
    return script.cms_code_set()


@pytest.fixture(scope="module")
def fresh_term() -> Terminology:
    # Built apart from the shared `term`: 98,000 lookups would fill its remembered answers.
    return build_terminology(DATA_DIR)


def normalise_text(text: str) -> str:
    """Case-insensitive, punctuation and whitespace collapsed."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def display_matches(display: str, cms: str) -> bool:
    if normalise_text(display) == normalise_text(cms):
        return True
    found = _NOTE.match(display)  # "Low back pain (includes M54.50)"
    return found is not None and normalise_text(found["text"]) == normalise_text(cms)


def display_problems(term: Terminology, code_set) -> set[Problem]:
    by_norm = code_set.by_norm
    problems: set[Problem] = set()
    for entry in term.entries:
        if entry.system != script.ICD10CM:
            continue
        norm = normalise_code(entry.code)
        code = by_norm.get(norm)
        if code is None:
            # A prefix need not be a code itself ("C"), but it must lead to codes.
            if entry.match != "prefix" or not any(n.startswith(norm) for n in by_norm):
                problems.add((entry.file, entry.code, entry.display, NOT_A_CODE))
        elif not display_matches(entry.display, code_set.codes[code]):
            problems.add((entry.file, entry.code, entry.display, code_set.codes[code]))
    return problems


def read_exceptions() -> set[Problem]:
    lines = EXCEPTIONS.read_text(encoding="utf-8").splitlines()
    rows = csv.DictReader(line for line in lines if line.strip() and not line.startswith("#"))
    return {(r["file"], r["code"], r["display"], r["cms_description"]) for r in rows}


def checked_in(out_dir: Path) -> dict[tuple[str, str], list[str]]:
    """(file stem, prefix) -> codes, from the reviewed lists."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(out_dir.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                prefix, code, _description = line.split("\t")
                found.setdefault((path.stem, prefix), []).append(code)
    return found


def expansion_differences(term: Terminology, code_set, out_dir: Path) -> list[str]:
    reviewed = checked_in(out_dir)
    now = {(Path(e.file).stem, e.code): codes for e, codes in script.expand(term, code_set).items()}
    differences = []
    for key in sorted(set(reviewed) | set(now)):
        old, new = reviewed.get(key, []), now.get(key)
        if new is None:
            differences.append(f"{key[0]} {key[1]}: listed, but no such prefix row")
            continue
        added = [c for c in new if c not in old]
        gone = [c for c in old if c not in new]
        if added or gone:
            differences.append(f"{key[0]} {key[1]}: new {added}, no longer {gone}")
    return differences


def test_every_icd10cm_row_exists_with_the_cms_description(fresh_term, code_set) -> None:
    found, allowed = display_problems(fresh_term, code_set), read_exceptions()
    new = sorted(found - allowed)
    fixed = sorted(allowed - found)
    assert not new and not fixed, (
        f"rows whose code or display differs from the CMS code set ({code_set.label}): {new}; "
        f"listed in {EXCEPTIONS.name} but no longer differing (remove them): {fixed}"
    )


def test_every_prefix_expands_to_its_reviewed_list(fresh_term, code_set) -> None:
    differences = expansion_differences(fresh_term, code_set, script.OUT_DIR)
    assert not differences, (
        "a prefix row now classifies other codes than its reviewed list: "
        + "; ".join(differences)
        + " (run .venv/bin/python scripts/expand_prefixes.py, review the diff, and split the "
        "prefix into exact rows or add exclusions where it over-reaches)"
    )


def test_expand_prefixes_check_passes(capsys) -> None:
    assert script.main(["--check"]) == 0, capsys.readouterr().out


def test_a_code_new_under_a_prefix_fails(fresh_term, code_set, monkeypatch, capsys) -> None:
    fake = script.CodeSet({**code_set.codes, "M54.52": "Low back pain, fake"}, code_set.label)
    assert "M54.52" not in code_set.codes
    differences = expansion_differences(fresh_term, fake, script.OUT_DIR)
    assert any(d.startswith("ms_and_pain M54.5: new ['M54.52']") for d in differences)
    monkeypatch.setattr(script, "cms_code_set", lambda: fake)
    assert script.main(["--check"]) == 1
    assert "ms_and_pain.txt is stale" in capsys.readouterr().out


def test_display_matching() -> None:
    assert display_matches("Low back pain (includes M54.50)", "Low back pain")
    assert display_matches("DORSALGIA,  unspecified", "Dorsalgia, unspecified")
    cms = "Neoplasm related pain (acute) (chronic)"
    assert display_matches(cms, cms)
    assert display_matches(cms + " (G89.3)", cms)
    assert not display_matches("Discitis", "Discitis, unspecified")
    assert not display_matches("Low back pain: see notes", "Low back pain")


def test_expansion_files_are_not_loaded_as_value_sets(fresh_term) -> None:
    assert not list(script.OUT_DIR.glob("*.csv"))
    assert all("/" not in name and name.endswith(".csv") for name in fresh_term.sources)
