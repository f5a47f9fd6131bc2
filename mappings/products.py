"""Reading an RxNorm product name: its dose form.

RxNorm names a clinical or branded drug "<ingredients and strengths> <dose form> [<brand>]"; a
pack names its parts in braces. The dose form tells the route (`routes.csv`): a ciprofloxacin
"Otic Solution" never reaches the blood levels that make ciprofloxacin dangerous with tizanidine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

# Term types whose names end with a dose form (ingredients, brands and components have none).
_WITH_FORM = frozenset({"SCD", "SBD", "GPCK", "BPCK", "product"})


@lru_cache(maxsize=8)
def _pattern(forms: tuple[str, ...]) -> re.Pattern[str]:
    body = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])")


def dose_form_of(name: str, tty: str, forms: Sequence[str]) -> str:
    """The dose form that ends a product's name ("" when the term type has none or it is
    unknown); in a pack, the form of its last part."""
    if tty not in _WITH_FORM or not forms:
        return ""
    found = ""
    for match in _pattern(tuple(forms)).finditer(name):
        found = match.group(0)
    return found


__all__ = ["dose_form_of"]
