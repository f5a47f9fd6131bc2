"""Write docs/cards.md, the card catalogue for clinical review, from cards/content.py.

Usage: .venv/bin/python scripts/gen_cards_doc.py [--check]
With --check, exit 1 (and write nothing) when docs/cards.md is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cards.catalogue import render  # noqa: E402

TARGET = ROOT / "docs" / "cards.md"


def main(argv: list[str]) -> int:
    text = render()
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else None
    if "--check" in argv:
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run scripts/gen_cards_doc.py")
            return 1
        return 0
    if current != text:
        TARGET.write_text(text, encoding="utf-8")
        print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
