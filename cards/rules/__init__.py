"""One module per card kind: when the card applies and what it proposes (CQL style).

Each module opens with a header (`When:`, `Then:`, `Source:`, `Reads:`; a module serving two
kinds has one header per kind, each after a `Card: <kind>` line), declares the kinds it makes in
`KINDS`, and exposes one function building the card. All wording comes from `cards.content`;
thresholds from `mappings.thresholds`. `cards.patient_view` and `cards.orders` call the rules in
order; `cards.catalogue` prints each header in docs/cards.md (`{name}` in a header is a
threshold of `mappings.thresholds.THRESHOLDS`, filled in there).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from cards.rules import (
    bed_rest,
    chronic_care,
    contraindicated_pair,
    dmt_injection_pain,
    dose_above_maximum,
    drug_caution,
    first_line,
    imaging_not_indicated,
    ms_relapse,
    neuropathic,
    nsaid_risk,
    opioid_active,
    opioid_order,
    pain_not_assessed,
    red_flag,
    red_flag_risk,
    refractory_neuropathic,
    refractory_spasticity,
    spasticity,
    under_18,
)

MODULES: tuple[ModuleType, ...] = (
    red_flag,
    red_flag_risk,
    pain_not_assessed,
    first_line,
    spasticity,
    neuropathic,
    chronic_care,
    refractory_spasticity,
    refractory_neuropathic,
    opioid_active,
    dmt_injection_pain,
    ms_relapse,
    under_18,
    imaging_not_indicated,
    bed_rest,
    opioid_order,
    nsaid_risk,
    contraindicated_pair,
    drug_caution,
    dose_above_maximum,
)

FIELDS = ("When", "Then", "Source", "Reads")


@dataclass(frozen=True, slots=True)
class Header:
    """A rule's header for one card kind, as written (thresholds still in braces)."""

    kind: str
    module: str  # e.g. "cards/rules/first_line.py"
    when: str
    then: str
    source: str
    reads: str


_FIELD = re.compile(rf"^({'|'.join(FIELDS)}): ?(.*)$")


def _docstring(module: ModuleType) -> str:
    """The module's docstring, read from its source (so that `python -OO` does not lose it)."""
    path = Path(module.__file__ or "")
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


def parse(module: ModuleType) -> list[Header]:
    """The headers of one rule module, one per kind in `KINDS` (ValueError when one is missing
    or incomplete)."""
    kinds: tuple[str, ...] = module.KINDS
    name = "cards/rules/" + module.__name__.rsplit(".", 1)[-1] + ".py"
    blocks: dict[str, dict[str, list[str]]] = {}
    kind, current = (kinds[0] if len(kinds) == 1 else None), None
    for line in _docstring(module).splitlines():
        if line.startswith("Card: "):
            kind, current = line.removeprefix("Card: ").strip(), None
            continue
        if not line.strip():
            current = None
            continue
        found = _FIELD.match(line)
        if found and kind is not None:
            current = found.group(1)
            blocks.setdefault(kind, {}).setdefault(current, []).append(found.group(2))
        elif current is not None and line.startswith(" ") and kind is not None:
            blocks[kind][current].append(line.strip())
    headers = []
    for k in kinds:
        fields = blocks.get(k, {})
        missing = [f for f in FIELDS if not fields.get(f)]
        if missing:
            raise ValueError(f"{name}: the header of {k} lacks {', '.join(missing)}")
        text = {f: " ".join(fields[f]) for f in FIELDS}
        headers.append(Header(k, name, text["When"], text["Then"], text["Source"], text["Reads"]))
    return headers


def headers() -> dict[str, Header]:
    """Every card kind's header, by kind."""
    return {h.kind: h for m in MODULES for h in parse(m)}
