"""How long a card stays hidden after a clinician's decision: the snooze table.

One table (`cards/data/snooze.csv`, reviewed data like the safety tables) is both what a card
promises and what the service enforces: each override reason a card offers states its period
("Already addressed — hide for 30 days unless the evidence changes", see `display`), and
`service.governance.suppression` hides the same card (same uuid) for that long. The period depends
on the decision and on the card's indicator. Critical cards are never hidden, and warning cards at
most `MAX_WARNING_DAYS` (a table that says otherwise stops start-up). A card's uuid is derived from
its evidence, so new evidence always shows the card again, whatever the table says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cards.model import OverrideReason
from cards.products import OVERRIDE_REASONS, OVERRIDE_SYSTEM
from mappings.datafile import require, reviewed, rows
from mappings.errors import DataError

PATH = Path(__file__).parent / "data" / "snooze.csv"
COLUMNS = ("decision", "info_days", "warning_days", "source", "reviewed")

ACCEPTED = "accepted"  # a suggestion of the card was accepted
DISMISSED = "dismissed"  # overridden without a reason, or with one the card did not offer
UNTIL_EVIDENCE_CHANGES = math.inf  # days: hidden while the same evidence stands
HIDEABLE = ("info", "warning")  # critical cards are never hidden
MAX_WARNING_DAYS = 7
_UNTIL_WORD = "until-evidence-changes"


@dataclass(frozen=True, slots=True)
class SnoozeRow:
    decision: str
    days: dict[str, float]  # indicator (info, warning) -> days; inf: until the evidence changes
    source: str
    reviewed: date


def load(path: Path = PATH) -> dict[str, SnoozeRow]:
    """The table by decision; raises DataError naming the row when it cannot be trusted."""
    require(path, COLUMNS)
    table: dict[str, SnoozeRow] = {}
    for number, row in rows(path):
        decision = row["decision"]
        if decision in table:
            raise DataError(path.name, number, f"{decision!r} is listed twice")
        if decision not in (ACCEPTED, DISMISSED, *OVERRIDE_REASONS):
            raise DataError(path.name, number, f"{decision!r} is not an override reason code")
        days = {i: _days(path.name, number, row[f"{i}_days"]) for i in HIDEABLE}
        if decision != ACCEPTED and days["warning"] > MAX_WARNING_DAYS:
            raise DataError(
                path.name, number, f"warning cards are hidden at most {MAX_WARNING_DAYS} days"
            )
        table[decision] = SnoozeRow(decision, days, row["source"], reviewed(path.name, number, row))
    missing = {ACCEPTED, DISMISSED, *OVERRIDE_REASONS} - table.keys()
    if missing:
        raise DataError(path.name, None, f"no row for {', '.join(sorted(missing))}")
    return table


def _days(name: str, number: int, cell: str) -> float:
    if cell == _UNTIL_WORD:
        return UNTIL_EVIDENCE_CHANGES
    if not cell.isdigit():
        raise DataError(name, number, f"{cell!r} is neither whole days nor {_UNTIL_WORD}")
    return float(int(cell))


TABLE = load()


def decision_of(outcome: str, reason_system: str | None, reason_code: str | None) -> str:
    """The table row a feedback item falls under: accepted, one of our reasons, or dismissed."""
    if outcome == "accepted":
        return ACCEPTED
    if reason_code in OVERRIDE_REASONS and reason_system in (None, OVERRIDE_SYSTEM):
        return reason_code
    return DISMISSED


def hide_days(decision: str, indicator: str) -> float:
    """Days a card of this indicator stays hidden after this decision (0 for critical cards)."""
    row = TABLE.get(decision, TABLE[DISMISSED])
    return row.days.get(indicator, 0.0)


def period_words(days: float) -> str:
    """What a clinician is told about the period, after the reason's own words."""
    if days == UNTIL_EVIDENCE_CHANGES:
        return "hide until the evidence changes"
    if days <= 0:
        return "not hidden"
    n = int(days)
    return f"hide for {n} day{'s' if n != 1 else ''} unless the evidence changes"


def display(reason: OverrideReason, indicator: str) -> OverrideReason:
    """The reason as offered on a card of this indicator, its snooze period in its display."""
    if indicator not in HIDEABLE:
        words = f"not hidden ({indicator})"
    else:
        words = period_words(hide_days(reason.code, indicator))
    return reason.model_copy(update={"display": f"{reason.display} — {words}"})
