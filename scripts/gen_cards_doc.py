"""Write docs/cards.md (the card catalogue, from cards/content.py) and docs/safety-rules.md (the
medication-safety tables, from mappings/data/medication_safety/) for clinical review.

Usage: .venv/bin/python scripts/gen_cards_doc.py [--check]
With --check, exit 1 (and write nothing) when either file is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cards import catalogue, safety_catalogue  # noqa: E402

TARGETS = (
    (ROOT / "docs" / "cards.md", catalogue.render),
    (ROOT / "docs" / "safety-rules.md", safety_catalogue.render),
)


def main(argv: list[str]) -> int:
    stale = 0
    for target, render in TARGETS:
        text = render()
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        if "--check" in argv:
            print(f"{target.relative_to(ROOT)} is out of date: run scripts/gen_cards_doc.py")
            stale = 1
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT)}")
    return stale


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
