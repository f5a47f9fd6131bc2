"""A card's summary: a template filled with names and facts, fitted under 140 characters.

The values are short names and facts (`mappings.short_names`); when a filled summary is too long,
the longest value gives way a step at a time (`fit_summary` says how), so that no word is cut
and a list says how many it leaves out.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from string import Formatter

from cards.build import ELLIPSIS, TRAILING, cut, plain
from cards.content import LIST_MORE

__all__ = ["Forms", "Value", "fit_summary"]

_MAX_SUMMARY = 139  # CDS Hooks: a summary is under 140 characters
_MAX_NAME = 4_000  # characters of one value's form read (a name, a fact), before fitting

# A summary value: a text, or a name's forms longest first ("oxycodone 5 mg tablet",
# "oxycodone"), or a list of names (each a text or its forms).
Forms = tuple[str, ...]
Value = str | Forms | list[str] | list[Forms]


def fit_summary(template: str, **values: Value) -> str:
    """Fill a summary template so that it is under 140 characters, no word cut.

    Values are short names and facts (`mappings.short_names`); most summaries fit as filled.
    When one does not, the longest value gives way first, a step at a time: a name takes its
    next shorter form (the ingredient alone); a list takes its names' shorter forms, then keeps
    its first names and says how many more (`LIST_MORE`); a text drops its last clause's aside
    in brackets, then that clause (after ": " or "; " outside brackets), then its last words,
    ending "…" after a whole word. A value in parentheses in the template keeps at least two
    words, or is left out with its parentheses (the order on "Spine imaging (MRI lumbar spine)
    not indicated").
    """
    filled = {k: _value(values[k]) for k in _fields(template)}
    text = template.format_map({k: _first(v) for k, v in filled.items()})
    return text if len(text) <= _MAX_SUMMARY else _fit(template, filled)


@lru_cache(maxsize=256)
def _fields(template: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for _, name, _, _ in Formatter().parse(template) if name))


def _forms(value: str | Forms) -> Forms:
    forms = (value,) if isinstance(value, str) else value
    return tuple(dict.fromkeys(plain(v, _MAX_NAME) for v in forms)) or ("",)


def _value(value: Value) -> Forms | list[Forms]:
    return [_forms(v) for v in value] if isinstance(value, list) else _forms(value)


def _first(value: Forms | list[Forms]) -> str:
    return value[0] if isinstance(value, tuple) else ", ".join(dict.fromkeys(v[0] for v in value))


def _fit(template: str, filled: dict[str, Forms | list[Forms]]) -> str:
    optional = [k for k in filled if f" ({{{k}}})" in template]
    steps = {k: _shorter(v, 2 if k in optional else 1) for k, v in filled.items()}
    current = {k: _first(v) for k, v in filled.items()}
    text = template.format_map(current)
    while len(text) > _MAX_SUMMARY and steps:
        longest = max(steps, key=lambda k: len(current[k]))
        step = next(steps[longest], None)
        if step is None:
            del steps[longest]  # as short as it goes
            continue
        current[longest] = step
        text = template.format_map(current)
    for k in reversed(optional):
        if len(text) <= _MAX_SUMMARY:
            break
        template = template.replace(f" ({{{k}}})", "")
        text = template.format_map(current)
    return cut(text, _MAX_SUMMARY)  # only a template too long for any values


def _shorter(value: Forms | list[Forms], fewest_words: int) -> Iterator[str]:
    """Ever shorter forms of a value (see `fit_summary`)."""
    if isinstance(value, tuple):
        yield from value[1:]
        yield from _shorter_text(value[-1], fewest_words)
        return
    level = 0
    while any(level + 1 < len(forms) for forms in value):
        level += 1
        yield ", ".join(dict.fromkeys(forms[min(level, len(forms) - 1)] for forms in value))
    names = list(dict.fromkeys(forms[-1] for forms in value))
    # The first k names, for k from all but one down to one. A list that cannot fit yet is
    # passed over unbuilt (its length is known from the names'): building each one costs the
    # square of a long list's length, and `_fit` would only step past it. The last is yielded
    # whatever its length, as the shortest this stage has.
    joined = sum(map(len, names)) + 2 * (len(names) - 1)
    for k in range(len(names) - 1, 0, -1):
        joined -= len(names[k]) + 2
        if joined < _MAX_SUMMARY or k == 1:
            yield LIST_MORE.format(names=", ".join(names[:k]), more=len(names) - k)
    for shorter in _shorter_text(names[0], fewest_words) if names else ():
        yield LIST_MORE.format(names=shorter, more=len(names) - 1) if len(names) > 1 else shorter


def _shorter_text(text: str, fewest_words: int) -> Iterator[str]:
    """The text without its last clause's aside in brackets, then without its last clause, down
    to the first clause; then that clause's first words and "…"."""
    ends = _clause_ends(text)
    while ends:
        aside = _aside_at_end(text)
        if aside is not None and aside > ends[-1] + 2:  # words of the clause stay
            text = text[:aside].rstrip()
        else:
            text = text[: ends.pop()]
        yield text
    words = text[:_MAX_SUMMARY].split(" ")
    for n in range(len(words) - 1, fewest_words - 1, -1):
        head = " ".join(words[:n]).rstrip(TRAILING)
        if head and _balanced(head):
            yield head + ELLIPSIS


def _clause_ends(text: str) -> list[int]:
    """Where each clause but the last ends: at ": " or "; " outside brackets."""
    ends, depth = [], 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch in ":;" and depth == 0 and text[i + 1 : i + 2] == " " and i > 0:
            ends.append(i)
    return ends


def _aside_at_end(text: str) -> int | None:
    """Where a bracketed aside ending the text opens ("… injury (avoid chronic use)"), if any."""
    if not text.endswith(")"):
        return None
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[i], 0)
        if depth == 0:
            return i if i > 0 and text[i - 1] == " " else None
    return None


def _balanced(text: str) -> bool:
    return text.count("(") == text.count(")") and text.count("[") == text.count("]")
