"""One rule module per card kind (cards/rules/), each with its header, and no sentence in code.

The header (When, Then, Source, Reads) is what docs/cards.md prints for the kind; the wording is
`cards.content`'s. A string with words in rule code is a sentence that belongs there (the runtime
check is tests/cards/test_catalogue_sentences.py; this one reads the source).
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import asdict
from pathlib import Path

import pytest

from cards.content import CARDS
from cards.rules import FIELDS, MODULES, headers, parse
from mappings.thresholds import THRESHOLDS

CARDS_DIR = Path(__file__).resolve().parents[2] / "cards"

# Modules that decide what a card says: they may hold no string with words in it.
RULE_CODE = sorted(
    [p for p in (CARDS_DIR / "rules").glob("*.py") if p.name != "__init__.py"]
    + [CARDS_DIR / n for n in ("patient_view.py", "orders.py", "red_flags.py")]
    + [CARDS_DIR / n for n in ("patient_state.py", "safety.py", "build.py")]
)


def test_one_rule_module_per_card_kind():
    kinds = [k for m in MODULES for k in m.KINDS]
    assert sorted(kinds) == sorted(CARDS)  # every kind once
    assert set(headers()) == set(CARDS)
    on_disk = {p.stem for p in (CARDS_DIR / "rules").glob("*.py") if not p.stem.startswith("_")}
    assert on_disk == {m.__name__.rsplit(".", 1)[-1] for m in MODULES}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_each_rule_module_has_a_full_header_and_one_card_function(module):
    for header in parse(module):
        for field in FIELDS:
            text = getattr(header, field.lower())
            assert len(text) > 20, (header.kind, field)
            text.format(**asdict(THRESHOLDS))  # only thresholds are filled in
    public = [
        name
        for name, value in vars(module).items()
        if inspect.isfunction(value) and value.__module__ == module.__name__ and name[0] != "_"
    ]
    assert len(public) == 1, public
    if len(module.KINDS) == 1:
        assert module.__name__.endswith(module.KINDS[0].replace("-", "_"))
    lines = Path(module.__file__).read_text(encoding="utf-8").count("\n")
    assert lines < 150, lines


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


_WORDS = re.compile(r"[A-Za-z]+ [A-Za-z]|[A-Za-z] +$|^ +[A-Za-z]")


@pytest.mark.parametrize("path", RULE_CODE, ids=lambda p: p.relative_to(CARDS_DIR).as_posix())
def test_rule_code_writes_no_sentence(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    found = [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docs
        and _WORDS.search(node.value)
    ]
    assert not found, f"{path.name}: words belong in cards/content.py: {found}"
