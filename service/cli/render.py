"""A readable text view of a CDS Hooks response, for `ms-backpain-cds evaluate` in a terminal.

A clinician judges the service by its cards, so the view keeps what they would read: indicator,
summary, the "Why this card" evidence, cautions, and each suggestion with what its actions do.
It reads the response leniently: any JSON object renders, a malformed card shows what it has.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

__all__ = ["render_text"]

_HEADING = re.compile(r"^\s*(?:#{1,6}\s+(?P<h>.+?)\s*#*\s*|\*\*(?P<b>[^*]+?):?\*\*:?\s*)$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?P<text>.+)$")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_WHY = "why this card"
_CAUTIONS = "cautions"


def _plain(text: str) -> str:
    """Markdown inline syntax removed: bold, code, links become 'label (url)'."""
    text = _LINK.sub(r"\1 (\2)", text)
    return text.replace("**", "").replace("__", "").replace("`", "").strip()


def _sections(detail: str) -> dict[str, list[str]]:
    """Bullet lines of the detail, grouped by the lower-cased heading above them ('' if none)."""
    sections: dict[str, list[str]] = {}
    current = ""
    for line in detail.splitlines():
        heading = _HEADING.match(line)
        if heading:
            current = (heading.group("h") or heading.group("b") or "").strip().rstrip(":").lower()
            sections.setdefault(current, [])
            continue
        bullet = _BULLET.match(line)
        if bullet:
            sections.setdefault(current, []).append(_plain(bullet.group("text")))
        elif line.strip().lower().rstrip(":") == _WHY:  # "Why this card:" as a plain line
            current = _WHY
            sections.setdefault(current, [])
    return sections


def _wrap(text: str, indent: str, width: int) -> list[str]:
    wrapped = textwrap.wrap(
        text,
        width=width,
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,  # keep ids such as Condition/cond-ms-acute-lbp-lbp whole
        break_long_words=False,
    )
    return wrapped or [indent.rstrip()]


def _bullets(title: str, lines: list[str], width: int) -> list[str]:
    out = [f"  {title}:"]
    for line in lines:
        out += _wrap(f"- {line}", "    ", width)
    return out


def _action_line(action: Any) -> str:
    if not isinstance(action, dict):
        return "(malformed action)"
    kind = str(action.get("type") or "?")
    resource = action.get("resource")
    if not isinstance(resource, dict):
        resource = {}
    target = resource.get("resourceType") or action.get("resourceId") or ""
    description = str(action.get("description") or "").strip()
    head = f"{kind} {target}".strip()
    return f"{head}: {description}" if description else head


def _card_lines(number: int, card: Any, width: int) -> list[str]:
    if not isinstance(card, dict):
        return [f"{number}. (malformed card)"]
    indicator = str(card.get("indicator") or "?").upper()
    lines = _wrap(f"{number}. [{indicator}] {card.get('summary') or '(no summary)'}", "", width)
    source = card.get("source")
    if isinstance(source, dict) and source.get("label"):
        lines.append(f"  Source: {source['label']}")
    detail = card.get("detail")
    if isinstance(detail, str) and detail.strip():
        sections = _sections(detail)
        why = sections.get(_WHY)
        if why:
            lines += _bullets("Why this card", why, width)
        else:  # a detail without the section: show its text, unformatted
            text = " ".join(_plain(x) for x in detail.splitlines() if x.strip())
            lines += _wrap(text, "  ", width)
        cautions = next((v for k, v in sections.items() if k.startswith(_CAUTIONS) and v), None)
        if cautions:
            lines += _bullets("Cautions", cautions, width)
    suggestions = [s for s in card.get("suggestions") or [] if isinstance(s, dict)]
    if suggestions:
        behavior = card.get("selectionBehavior")
        lines.append(f"  Suggestions ({behavior}):" if behavior else "  Suggestions:")
        for suggestion in suggestions:
            mark = " (recommended)" if suggestion.get("isRecommended") else ""
            lines += _wrap(f"* {suggestion.get('label') or '(no label)'}{mark}", "    ", width)
            for action in suggestion.get("actions") or []:
                lines += _wrap(f"-> {_action_line(action)}", "      ", width)
    links = [x for x in card.get("links") or [] if isinstance(x, dict) and x.get("url")]
    for link in links:
        lines += _wrap(f"Link: {link.get('label') or ''} <{link['url']}>", "  ", width)
    reasons = [
        str(r.get("display")) for r in card.get("overrideReasons") or [] if isinstance(r, dict)
    ]
    if reasons:
        lines += _wrap("Override reasons: " + "; ".join(reasons), "  ", width)
    return lines


def render_text(response: dict[str, Any], *, width: int = 100) -> str:
    """The cards of a CDS Hooks response as plain text, most urgent first as the service sent them.

    ``No cards.`` when the response holds none; system actions are listed after the cards.
    """
    cards = response.get("cards") if isinstance(response, dict) else None
    cards = cards if isinstance(cards, list) else []
    blocks = ["\n".join(_card_lines(i, card, width)) for i, card in enumerate(cards, 1)]
    if not blocks:
        blocks.append("No cards.")
    actions = response.get("systemActions") if isinstance(response, dict) else None
    if isinstance(actions, list) and actions:
        blocks.append("System actions:\n" + "\n".join(f"  -> {_action_line(a)}" for a in actions))
    return "\n\n".join(blocks) + "\n"
