"""Turning a rule's decision into a Card: stable ids, Markdown detail, source, overrides.

Card uuids are uuid5 over (patient, card kind, the evidence quoted), so the same situation gives the
same uuid on every call and feedback lines up; suggestion uuids derive from their card's uuid.
A snooze (`cards.snooze`) hides that uuid, so new evidence (a new uuid) shows the card again.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cards import snooze
from cards.content import CARDS, HEADINGS, SECTION_MORE
from cards.model import INDICATOR_ORDER, Card, Coding, Link, OverrideReason, Source
from cards.products import CARD_KIND_SYSTEM, LINKS, OVERRIDE_REASONS, SOURCES
from mappings.profile import Evidence

_NAMESPACE = uuid.UUID("6f3c7a52-2b8e-5d43-9a0f-1c2d3e4f5a6b").bytes


def _kind_name(kind: str) -> str:
    return kind.replace("-", " ").capitalize()


_MAX_QUOTE = 200
_MAX_LINE = 800
# Lines of one detail section a card shows: a clinician reads a few, and a chart of thousands of
# resources must not make a card (or the call that quotes it) grow without end. Real cards show
# far fewer (docs/performance.md, figures behind the code).
MAX_SECTION_LINES = 50
_UNSAFE = str.maketrans({"<": "‹", ">": "›", "`": "'", "|": "/", "\\": "/"})
ELLIPSIS = "…"
TRAILING = " ,;:/(-–—"  # what a cut text does not end with before its "…"


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
    return head.rstrip(TRAILING) + ELLIPSIS


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
    if len(draft.evidence) <= room:  # nearly every card: all of it fits
        quoted = [quote(e) for e in draft.evidence if (e.resource, e.system, e.code) not in said]
        return [*why, *dict.fromkeys(quoted)]
    shown: dict[str, None] = {}
    fields_shown: set[tuple[object, ...]] = set()  # the fields of the lines shown
    rest: set[tuple[object, ...]] = set()  # and of the others
    for e in draft.evidence:
        if (e.resource, e.system, e.code) in said:
            continue
        fields = (e.display, e.system, e.code, e.date, e.resource)
        if len(shown) < room:
            shown[quote(e)] = None
            fields_shown.add(fields)
        elif fields not in fields_shown:
            rest.add(fields)
    if not rest and room >= 0:
        return [*why, *shown]
    lines = list(dict.fromkeys([*why, *shown]))
    if not rest and len(lines) <= MAX_SECTION_LINES:
        return lines
    kept = lines[: MAX_SECTION_LINES - 1]  # the last line that fits gives way to the count
    return [*kept, SECTION_MORE.format(more=len(lines) - len(kept) + len(rest))]
