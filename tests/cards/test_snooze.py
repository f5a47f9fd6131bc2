"""The snooze table: what each override reason promises on a card, and the limits it must keep."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cards import snooze
from cards.content import CARDS
from cards.products import OVERRIDE_REASONS, OVERRIDE_SYSTEM
from mappings.errors import DataError

HEADER = "# source: test table; version: 2026-12-03\n" + ",".join(snooze.COLUMNS) + "\n"


def _table(tmp_path: Path, rows: dict[str, tuple[str, str]]) -> Path:
    full = {d: ("7", "7") for d in (snooze.ACCEPTED, snooze.DISMISSED, *OVERRIDE_REASONS)}
    full.update(rows)
    path = tmp_path / "snooze.csv"
    body = "".join(f"{d},{i},{w},test,2026-12-03\n" for d, (i, w) in full.items())
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_the_defaults_of_the_issue() -> None:
    assert snooze.hide_days("already-addressed", "info") == 30
    assert snooze.hide_days("patient-preference", "info") == 90
    assert snooze.hide_days(snooze.DISMISSED, "info") == 7
    assert snooze.hide_days(snooze.ACCEPTED, "info") == math.inf
    for decision in snooze.TABLE:
        assert snooze.hide_days(decision, "critical") == 0
        if decision != snooze.ACCEPTED:
            assert snooze.hide_days(decision, "warning") <= snooze.MAX_WARNING_DAYS


@pytest.mark.parametrize(
    ("outcome", "system", "code", "decision"),
    [
        ("accepted", None, None, snooze.ACCEPTED),
        ("overridden", None, None, snooze.DISMISSED),
        ("overridden", OVERRIDE_SYSTEM, "already-addressed", "already-addressed"),
        ("overridden", None, "patient-preference", "patient-preference"),
        ("overridden", "https://ehr.example.org/reasons", "already-addressed", snooze.DISMISSED),
        ("overridden", OVERRIDE_SYSTEM, "made-up", snooze.DISMISSED),
    ],
)
def test_feedback_falls_under_one_row(outcome, system, code, decision) -> None:
    assert snooze.decision_of(outcome, system, code) == decision


def test_each_offered_reason_states_its_period() -> None:
    reason = OVERRIDE_REASONS["already-addressed"]
    assert snooze.display(reason, "info").display == (
        "Already addressed — hide for 30 days unless the evidence changes"
    )
    assert snooze.display(reason, "warning").display == (
        "Already addressed — hide for 7 days unless the evidence changes"
    )
    assert snooze.display(reason, "critical").display == "Already addressed — not hidden (critical)"
    assert snooze.display(reason, "info").code == "already-addressed"


def test_every_reason_a_card_offers_has_a_row() -> None:
    for text in CARDS.values():
        for code in text.overrides:
            assert code in snooze.TABLE


def test_a_warning_row_above_seven_days_stops_loading(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="at most 7 days"):
        snooze.load(_table(tmp_path, {"already-addressed": ("30", "8")}))


def test_a_missing_reason_stops_loading(tmp_path: Path) -> None:
    path = _table(tmp_path, {})
    lines = [x for x in path.read_text().splitlines() if not x.startswith("ms-monitoring,")]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="no row for ms-monitoring"):
        snooze.load(path)


@pytest.mark.parametrize("cell", ["-1", "3.5", "forever", ""])
def test_a_period_is_whole_days_or_until_the_evidence_changes(tmp_path: Path, cell: str) -> None:
    with pytest.raises(DataError, match="whole days"):
        snooze.load(_table(tmp_path, {"dismissed": (cell, "7")}))


def test_an_unknown_decision_stops_loading(tmp_path: Path) -> None:
    path = _table(tmp_path, {"made-up": ("7", "7")})
    with pytest.raises(DataError, match="not an override reason code"):
        snooze.load(path)
