"""Turning a rule's decision into a Card: stable ids, Markdown detail, source, overrides.

Card uuids are uuid5 over (patient, card kind, the evidence quoted), so the same situation gives the
same uuid on every call and feedback lines up; suggestion uuids derive from their card's uuid.
A snooze (`cards.snooze`) hides that uuid, so new evidence (a new uuid) shows the card again.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from string import Formatter
from typing import Any

from cards import snooze
from cards.content import CARDS, HEADINGS, LIST_MORE, SECTION_MORE
from cards.model import INDICATOR_ORDER, Card, Coding, Link, OverrideReason, Source
from cards.products import CARD_KIND_SYSTEM, LINKS, OVERRIDE_REASONS, SOURCES
from mappings.profile import Evidence

_NAMESPACE = uuid.UUID("6f3c7a52-2b8e-5d43-9a0f-1c2d3e4f5a6b").bytes


def _kind_name(kind: str) -> str:
    return kind.replace("-", " ").capitalize()


_MAX_SUMMARY = 139  # CDS Hooks: a summary is under 140 characters
_MAX_QUOTE = 200
_MAX_LINE = 800
# Lines of one detail section a card shows: a clinician reads a few, and a chart of thousands of
# resources must not make a card (or the call that quotes it) grow without end. Real cards show
# far fewer (the most in bench/identical.py's charts: 5 to do, 3 cautions, 174 reasons on a
# synthetic chart of 5,000 resources).
MAX_SECTION_LINES = 50
_UNSAFE = str.maketrans({"<": "‹", ">": "›", "`": "'", "|": "/", "\\": "/"})
_ELLIPSIS = "…"
_TRAILING = " ,;:/(-–—"  # what a cut text does not end with before its "…"


_MARKER = re.compile(r"^(#{1,6}|>|[*+\-]|\d+[.)])\s+")  # heading, quote or list marker


def plain(text: object, limit: int = _MAX_QUOTE) -> str:
    """Text from the EHR made safe to quote in Markdown: one line, no HTML, bounded length (cut
    after a whole word, see `cut`)."""
    s = str(text)
    return _remembered(s, limit) if len(s) <= _REMEMBER_UP_TO else _sanitise(s, limit)


def _sanitise(text: str, limit: int) -> str:
    # Only the first `limit + 2` words can reach the quote (a marker is the first word, and the
    # others are a space apart): a long text is split no further, and its quote is the same.
    words = text.split(None, limit + 2)
    if len(words) > limit + 2:
        del words[limit + 2 :]
    return cut(_MARKER.sub("", " ".join(words).translate(_UNSAFE)), limit)


def cut(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its words that fit and "…".

    The "…" follows a whole word (trailing punctuation dropped): nothing is cut inside a word,
    except a first word longer than `limit` alone (a code or a token, not a word).
    """
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    if text[limit - 1] != " ":
        space = head.rfind(" ")
        head = head[:space] if space > 0 else head
    return head.rstrip(_TRAILING) + _ELLIPSIS


# Most lines are the cards' own static advice or the same evidence on every call: remember them,
# but only short ones, so text an EHR sends can never pin much memory (at most the cache's `maxsize`
# lines, each of up to `_REMEMBER_UP_TO` characters).
_remembered = lru_cache(maxsize=4096)(_sanitise)
_REMEMBER_UP_TO = 2000


def card_uuid(patient_id: str, kind: str, evidence: Iterable[Evidence], *extra: str) -> str:
    keys = sorted({f"{e.resource}|{e.concept}|{e.system}|{e.code}" for e in evidence})
    return uuid5(_NAMESPACE, "\n".join([patient_id, kind, *extra, *keys]))


def uuid5(namespace: bytes, name: str) -> str:
    """`str(uuid.uuid5(UUID(bytes=namespace), name))`, computed directly (RFC 4122 section 4.3).

    A patient-view call makes about a dozen of these; building and printing `uuid.UUID` objects
    cost more than the hash itself (docs/performance.md, figures behind the code). The version
    and variant bits are set on the hex digits: the version digit is 5, the variant digit keeps
    its two low bits under `10`.
    """
    h = hashlib.sha1(namespace + name.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


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
    return tuple(dict.fromkeys(plain(v, _MAX_QUOTE * 20) for v in forms)) or ("",)


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
        head = " ".join(words[:n]).rstrip(_TRAILING)
        if head and _balanced(head):
            yield head + _ELLIPSIS


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


# An action's fields, validated into a `cards.model.Action` with the rest of its card by `finish`:
# one pydantic call per card instead of one per card, suggestion and action.
ActionSpec = dict[str, Any]
# A suggestion's fields: (key, label, actions, recommended); `key` names it in the card's uuid.
SuggestionSpec = tuple[str, str, Sequence[ActionSpec], bool]


@dataclass
class Draft:
    """A card being assembled by a rule."""

    kind: str
    summary: str
    do: list[str] = field(default_factory=list)
    cautions: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # extra "Why" lines (e.g. the order itself)
    # Evidence a note already states (an order's own code, the other drug of a pair): it counts
    # in the card's uuid, and is not quoted again under "Why this card".
    stated: tuple[Evidence, ...] = ()
    suggestions: list[SuggestionSpec] = field(default_factory=list)
    selection: str | None = None
    id_extra: tuple[str, ...] = ()
    # "critical" when a concern on the card is a contraindication (the catalogue says which).
    indicator: str | None = None


def suggestion(
    key: str, label: str, actions: Sequence[ActionSpec], recommended: bool = False
) -> SuggestionSpec:
    return (key, label, actions, recommended)


def create(description: str, resource: dict[str, Any]) -> ActionSpec:
    return {"type": "create", "description": description, "resource": resource}


def delete(description: str, reference: str) -> ActionSpec:
    return {"type": "delete", "description": description, "resourceId": reference}


@dataclass(frozen=True, slots=True)
class _Kind:
    """What every card of one kind shares, looked up once at import."""

    lead: str  # the detail's first paragraph, bold
    indicator: str
    source: Source
    # by the card's indicator: each reason's display states its snooze period (cards.snooze)
    override_reasons: dict[str, tuple[OverrideReason, ...]]
    links: tuple[Link, ...]


_KINDS: dict[str, _Kind] = {
    kind: _Kind(
        f"**{text.lead}**",
        text.indicator,
        # the guideline, with the card's kind as `topic`
        SOURCES[text.source].model_copy(
            update={"topic": Coding(system=CARD_KIND_SYSTEM, code=kind, display=_kind_name(kind))}
        ),
        {
            indicator: tuple(snooze.display(OVERRIDE_REASONS[k], indicator) for k in text.overrides)
            for indicator in INDICATOR_ORDER
        },
        tuple(LINKS[k] for k in text.links),
    )
    for kind, text in CARDS.items()
}


def finish(draft: Draft, patient_id: str) -> Card:
    """The card, its suggestions and their actions, validated by pydantic in one call."""
    kind = _KINDS[draft.kind]
    cid = card_uuid(patient_id, draft.kind, draft.evidence, *draft.id_extra)
    indicator = draft.indicator or kind.indicator
    suggestions: list[dict[str, Any]] = []
    if draft.suggestions:
        base = bytes.fromhex(cid.replace("-", ""))
        suggestions = [
            {
                "label": label,
                "uuid": uuid5(base, key),
                "isRecommended": True if recommended else None,
                "actions": actions,
            }
            for key, label, actions, recommended in draft.suggestions
        ]
    return _validate_card(
        {
            "uuid": cid,
            "summary": draft.summary,
            "detail": _detail(kind.lead, draft),
            "indicator": indicator,
            "source": kind.source,
            "suggestions": suggestions,
            "selectionBehavior": (draft.selection or "any") if suggestions else None,
            "overrideReasons": kind.override_reasons[indicator],
            "links": kind.links,
        }
    )


# What `Card(**fields)` runs, without `BaseModel.__init__` packing the keywords: the same checks,
# for less per card (docs/performance.md, figures behind the code).
_validate_card: Callable[[dict[str, Any]], Card] = Card.__pydantic_validator__.validate_python


def _bullets(lines: Iterable[str]) -> list[str]:
    # Lines may quote EHR text (drug names, findings): keep each one line, with no HTML.
    static = _BULLETS.get
    return [static(line) or f"- {plain(line, _MAX_LINE)}" for line in lines]


# Most detail lines are a card's static advice: each one's bullet, made once here, is what
# `_bullets` would make of it (`_sanitise` is `plain` without the memo, kept for EHR text).
_BULLETS: dict[str, str] = {
    line: f"- {_sanitise(line, _MAX_LINE)}"
    for text in CARDS.values()
    for line in text.advice.values()
}


def quote(e: Evidence) -> str:
    """An evidence line: its display (cut after a whole word when long), code, date and
    reference, the reference never cut."""
    return e.describe(plain(e.display))


# Each heading after a blank line: the detail is one join of its lines.
_DO, _CAUTIONS, _WHY = (f"\n### {HEADINGS[k]}" for k in ("do", "cautions", "why"))


def _detail(lead: str, draft: Draft) -> str:
    lines = [lead]
    if draft.do:
        lines.append(_DO)
        lines += _bullets(_section(draft.do))
    if draft.cautions:
        lines.append(_CAUTIONS)
        lines += _bullets(_section(draft.cautions))
    why = _reasons(draft)
    if why:
        lines.append(_WHY)
        lines += _bullets(why)
    return "\n".join(lines)


def _section(lines: list[str]) -> list[str]:
    """A section's lines, each once, the first `MAX_SECTION_LINES` of them and how many more."""
    if len(lines) <= MAX_SECTION_LINES:
        return lines
    unique = list(dict.fromkeys(lines))
    if len(unique) <= MAX_SECTION_LINES:
        return unique
    more = len(unique) - MAX_SECTION_LINES + 1
    return [*unique[: MAX_SECTION_LINES - 1], SECTION_MORE.format(more=more)]


def _reasons(draft: Draft) -> list[str]:
    """The "Why this card" lines: the notes, then each evidence line once (less what a note
    states). Only what is shown is quoted: once the section is full, the rest are counted by
    what their lines say (an evidence's fields), not written out."""
    said = {(e.resource, e.system, e.code) for e in draft.stated} if draft.stated else ()
    why = list(draft.notes)
    room = MAX_SECTION_LINES - len(why)
    shown: dict[str, None] = {}
    quoted: set[tuple[object, ...]] = set()  # the fields of the lines shown
    rest: set[tuple[object, ...]] = set()  # and of the others
    for e in draft.evidence:
        if (e.resource, e.system, e.code) in said:
            continue
        fields = (e.display, e.system, e.code, e.date, e.resource)
        if len(shown) < room:
            shown[quote(e)] = None
            quoted.add(fields)
        elif fields not in quoted:
            rest.add(fields)
    if not rest and room >= 0:
        return [*why, *shown]
    lines = list(dict.fromkeys([*why, *shown]))
    if not rest and len(lines) <= MAX_SECTION_LINES:
        return lines
    kept = lines[: MAX_SECTION_LINES - 1]  # the last line that fits gives way to the count
    return [*kept, SECTION_MORE.format(more=len(lines) - len(kept) + len(rest))]
