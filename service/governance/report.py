"""The governance report: per card kind, how often it was shown, accepted, overridden (and why),
hidden by a snooze, and how that went week by week.

For a CDS governance committee deciding which card to retire or reword, so it counts what the
ledger (`service.store.ledger`) and the feedback table hold and nothing about patients: override
comments (free text) are never read. Feedback is matched to its card kind through the card uuid in
the ledger; feedback for a card the ledger no longer holds (past its retention) counts under
`unknown`. Rates are of the cards shown: acceptance rate = accepted / shown.

`build` reads the database; `to_csv` and `to_text` write what it found
(`service.governance.report_html` the page with plots). Used by the `report` command and
`/admin/report`.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cards import snooze
from cards.content import CARDS
from cards.products import OVERRIDE_REASONS
from service.config import ConfigError
from service.store.feedback import feedback_table
from service.store.ledger import issuance_table
from service.store.ledger import metadata as ledger_metadata

NO_REASON = "none"
OTHER_REASON = "other"
UNKNOWN_KIND = "unknown"
REASONS = (*OVERRIDE_REASONS, NO_REASON, OTHER_REASON)
REASON_LABELS = {
    **{code: r.display for code, r in OVERRIDE_REASONS.items()},
    NO_REASON: "No reason given",
    OTHER_REASON: "A reason this service did not offer",
}


@dataclass
class Counts:
    """What happened to one card kind (or all of them) over a period."""

    kind: str
    shown: int = 0
    suppressed: int = 0
    accepted: int = 0
    overridden: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def indicator(self) -> str:
        text = CARDS.get(self.kind)
        return text.indicator if text else ""

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.shown if self.shown else None

    @property
    def override_rate(self) -> float | None:
        return self.overridden / self.shown if self.shown else None

    def add(self, other: Counts) -> None:
        self.shown += other.shown
        self.suppressed += other.suppressed
        self.accepted += other.accepted
        self.overridden += other.overridden
        self.reasons.update(other.reasons)


@dataclass
class Report:
    since: date | None
    generated_at: datetime
    kinds: list[Counts]  # most shown first
    weeks: dict[date, dict[str, Counts]]  # Monday -> kind -> counts, weeks in order

    @property
    def total(self) -> Counts:
        out = Counts("all")
        for counts in self.kinds:
            out.add(counts)
        return out

    @property
    def quiet_kinds(self) -> list[str]:
        """Card kinds nothing happened to in the period."""
        seen = {c.kind for c in self.kinds}
        return [kind for kind in CARDS if kind not in seen]


def week_of(day: date) -> date:
    """The Monday the day's ISO week starts on."""
    return day - timedelta(days=day.weekday())


def reason_of(outcome: str, override_reason: Any) -> str | None:
    """An override's reason as reported: our code, `none` or `other`; None for an acceptance."""
    if outcome == "accepted":
        return None
    reason = override_reason.get("reason") if isinstance(override_reason, dict) else None
    if not isinstance(reason, dict) or not reason.get("code"):
        return NO_REASON
    decision = snooze.decision_of(outcome, reason.get("system"), reason.get("code"))
    return decision if decision != snooze.DISMISSED else OTHER_REASON


def _day(column: Any, dialect: str) -> Any:
    """The UTC day of a timestamp column, in SQL."""
    if dialect == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def build(
    engine: AsyncEngine, *, since: date | None = None, now: datetime | None = None
) -> Report:
    """Count the ledger and the feedback from `since` (a UTC day) on."""
    start = datetime.combine(since, time(0), UTC) if since else None
    dialect = engine.dialect.name
    ledger, fb = issuance_table.c, feedback_table.c
    issued_day = _day(ledger.issued_at, dialect).label("day")
    shown_query = select(ledger.kind, ledger.suppressed, issued_day, func.count()).group_by(
        ledger.kind, ledger.suppressed, issued_day
    )
    kinds = select(ledger.card_uuid, ledger.kind).distinct().subquery()
    feedback_query = select(
        fb.outcome, fb.override_reason, _day(fb.received_at, dialect), kinds.c.kind
    ).select_from(feedback_table.outerjoin(kinds, fb.card_uuid == kinds.c.card_uuid))
    if start is not None:
        shown_query = shown_query.where(ledger.issued_at >= start)
        feedback_query = feedback_query.where(fb.received_at >= start)
    async with engine.connect() as conn:
        shown_rows = (await conn.execute(shown_query)).all()
        feedback_rows = (await conn.execute(feedback_query)).all()

    weeks: dict[date, dict[str, Counts]] = {}

    def counts(day: Any, kind: str | None) -> Counts:
        by_kind = weeks.setdefault(week_of(_as_date(day)), {})
        key = kind or UNKNOWN_KIND
        return by_kind.setdefault(key, Counts(key))

    for kind, suppressed, day, n in shown_rows:
        c = counts(day, kind)
        if suppressed:
            c.suppressed += n
        else:
            c.shown += n
    for outcome, override_reason, day, kind in feedback_rows:
        c = counts(day, kind)
        reason = reason_of(outcome, override_reason)
        if reason is None:
            c.accepted += 1
        else:
            c.overridden += 1
            c.reasons[reason] += 1

    totals: dict[str, Counts] = {}
    for by_kind in weeks.values():
        for kind, c in by_kind.items():
            totals.setdefault(kind, Counts(kind)).add(c)
    ordered = sorted(totals.values(), key=lambda c: (-c.shown, -c.suppressed, c.kind))
    return Report(
        since=since,
        generated_at=now or datetime.now(UTC),
        kinds=ordered,
        weeks={week: weeks[week] for week in sorted(weeks)},
    )


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


CSV_COLUMNS = (
    "week",
    "kind",
    "indicator",
    "shown",
    "suppressed",
    "accepted",
    "overridden",
    "acceptance_rate",
    "override_rate",
    *(f"reason:{r}" for r in REASONS),
)


def to_csv(report: Report) -> str:
    """One row per kind for the whole period (week `all`), then one per week and kind."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    rows = [("all", c) for c in report.kinds]
    rows += [
        (week.isoformat(), c)
        for week, by_kind in report.weeks.items()
        for c in sorted(by_kind.values(), key=lambda c: c.kind)
    ]
    for week, c in rows:
        writer.writerow(
            [
                week,
                c.kind,
                c.indicator,
                c.shown,
                c.suppressed,
                c.accepted,
                c.overridden,
                _rate(c.acceptance_rate),
                _rate(c.override_rate),
                *(c.reasons.get(r, 0) for r in REASONS),
            ]
        )
    return out.getvalue()


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def top_reasons(c: Counts, n: int = 3) -> str:
    return ", ".join(f"{REASON_LABELS[r]} {k}" for r, k in c.reasons.most_common(n))


def to_text(report: Report) -> str:
    """The per-kind table for a terminal."""
    period = f"since {report.since.isoformat()}" if report.since else "all recorded time"
    lines = [
        f"CDS governance report, {period} (generated {report.generated_at:%Y-%m-%d %H:%M} UTC)",
        "",
        f"{'card kind':28} {'shown':>7} {'accept':>7} {'overrd':>7} {'acc%':>5} {'ovr%':>5} "
        f"{'hidden':>7}  top override reasons",
    ]
    for c in [*report.kinds, report.total]:
        lines.append(
            f"{c.kind:28} {c.shown:>7} {c.accepted:>7} {c.overridden:>7} "
            f"{percent(c.acceptance_rate):>5} {percent(c.override_rate):>5} {c.suppressed:>7}  "
            f"{top_reasons(c)}"
        )
    if report.quiet_kinds:
        lines += ["", "Not shown in this period: " + ", ".join(report.quiet_kinds)]
    return "\n".join(lines) + "\n"


async def run(
    database_url: str, *, since: date | None, html: Path | None = None, csv: Path | None = None
) -> str:
    """The `report` command: read the database, write the files asked for, return the table."""
    from service.governance import report_html

    parsed = make_url(database_url)
    path = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if path not in (None, "", ":memory:") and not Path(str(path)).exists():
        raise ConfigError(
            f"no database at {path} (set MSCDS_DATA_DIR or MSCDS_DATABASE_URL to the service's)"
        )
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:  # a database from before the ledger existed
            await conn.run_sync(ledger_metadata.create_all)
        found = await build(engine, since=since)
    finally:
        await engine.dispose()
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(report_html.render(found, page_controls=False), encoding="utf-8")
    if csv is not None:
        csv.parent.mkdir(parents=True, exist_ok=True)
        csv.write_text(to_csv(found), encoding="utf-8")
    return to_text(found)
