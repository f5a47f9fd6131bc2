"""Fill the `dose_form` column of mappings/data/rxnorm_products.csv from each product's name.

RxNorm names a clinical or branded drug "<ingredients and strengths> <dose form> [<brand>]"; the
dose form is read off the end of the name, matched against the forms that
`mappings/data/medication_safety/routes.csv` knows (longest first). Ingredient, brand and
component rows have no dose form. Re-run after adding products; a test fails when the column
differs from what this script writes.

    .venv/bin/python scripts/fill_dose_forms.py
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mappings.products import dose_form_of  # noqa: E402

PRODUCTS = ROOT / "mappings" / "data" / "rxnorm_products.csv"
ROUTES = ROOT / "mappings" / "data" / "medication_safety" / "routes.csv"
COLUMNS = ["rxcui", "tty", "name", "ingredient_rxcui", "ingredient", "source", "dose_form"]


def known_forms() -> list[str]:
    forms = set()
    for line in ROUTES.read_text(encoding="utf-8").splitlines():
        if line.startswith("dose_form,"):
            forms.add(next(csv.reader([line]))[1])
    return sorted(forms, key=len, reverse=True)


def filled(text: str, forms: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header_seen = False
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            out.write(line + "\n")
            continue
        cells = next(csv.reader([line]))
        if not header_seen:
            header_seen = True
            writer.writerow(COLUMNS)
            continue
        row = dict(zip(COLUMNS, [*cells[:6], ""], strict=True))
        row["dose_form"] = dose_form_of(row["name"], row["tty"], forms)
        writer.writerow([row[c] for c in COLUMNS])
    return out.getvalue()


def main() -> None:
    PRODUCTS.write_text(filled(PRODUCTS.read_text(encoding="utf-8"), known_forms()), "utf-8")


if __name__ == "__main__":
    main()
