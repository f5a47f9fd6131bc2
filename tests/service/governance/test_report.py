"""The governance report: its numbers equal what a seeded database holds, its page is
self-contained, and the `report` command and `/admin/report` give it to whom may see it."""

from __future__ import annotations

import base64
import csv
import io
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.cli.main import main
from service.config import Settings
from service.governance import report, report_html
from service.http.app import create_app
from service.store.feedback import FeedbackStore
from tests.service.governance_helpers import SEED_END, Day, seed

ADMIN_TOKEN = "admin-token-0123456789"
NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def expected(days: list[Day], since: date | None = None) -> dict[str, report.Counts]:
    """What the report must say, summed straight from the seed."""
    out: dict[str, report.Counts] = {}
    for d in days:
        if since is not None and d.day < since:
            continue
        c = out.setdefault(d.kind, report.Counts(d.kind))
        c.shown += d.shown
        c.suppressed += d.suppressed
        c.accepted += d.accepted
        c.overridden += d.overridden
        c.reasons.update(Counter(dict(d.overrides)))
    return out


async def _seeded(tmp_path: Path) -> tuple[FeedbackStore, list[Day]]:
    store = await FeedbackStore.open(f"sqlite+aiosqlite:///{tmp_path / 'feedback.db'}")
    return store, await seed(store.engine)


def _same(found: report.Counts, want: report.Counts) -> None:
    assert (found.shown, found.suppressed, found.accepted, found.overridden) == (
        want.shown,
        want.suppressed,
        want.accepted,
        want.overridden,
    ), found.kind
    assert +found.reasons == +want.reasons, found.kind


async def test_the_numbers_match_the_seeded_database(tmp_path: Path) -> None:
    store, days = await _seeded(tmp_path)
    try:
        built = await report.build(store.engine, now=NOW)
    finally:
        await store.close()
    want = expected(days)
    found = {c.kind: c for c in built.kinds}
    assert set(found) == {*want, report.UNKNOWN_KIND}
    for kind, counts in want.items():
        _same(found[kind], counts)
    assert found[report.UNKNOWN_KIND].accepted == 1  # feedback on a card not in the ledger
    first_line = found["first-line"]
    assert first_line.acceptance_rate == pytest.approx(first_line.accepted / first_line.shown)
    assert built.kinds[0].kind == "first-line"  # the most shown first
    # week by week: eight Mondays, each kind's week equal to its seeded day
    assert list(built.weeks) == sorted({d.day - timedelta(days=d.day.weekday()) for d in days})
    for d in days:
        week = built.weeks[d.day - timedelta(days=d.day.weekday())][d.kind]
        _same(week, expected([d])[d.kind])
    assert built.total.shown == sum(d.shown for d in days)
    assert "ms-relapse" in built.quiet_kinds and "first-line" not in built.quiet_kinds


async def test_since_counts_from_that_day_on(tmp_path: Path) -> None:
    store, days = await _seeded(tmp_path)
    since = SEED_END - timedelta(days=20)
    try:
        built = await report.build(store.engine, since=since, now=NOW)
    finally:
        await store.close()
    want = expected(days, since)
    found = {c.kind: c for c in built.kinds if c.kind != report.UNKNOWN_KIND}
    assert set(found) == set(want)
    for kind, counts in want.items():
        _same(found[kind], counts)
    assert min(built.weeks) >= since - timedelta(days=6)


async def test_the_csv_carries_the_same_numbers(tmp_path: Path) -> None:
    store, days = await _seeded(tmp_path)
    try:
        built = await report.build(store.engine, now=NOW)
    finally:
        await store.close()
    rows = list(csv.DictReader(io.StringIO(report.to_csv(built))))
    assert tuple(rows[0]) == report.CSV_COLUMNS
    totals = {r["kind"]: r for r in rows if r["week"] == "all"}
    for kind, counts in expected(days).items():
        row = totals[kind]
        assert int(row["shown"]) == counts.shown and int(row["accepted"]) == counts.accepted
        assert int(row["overridden"]) == counts.overridden
        assert int(row["suppressed"]) == counts.suppressed
        for reason, n in counts.reasons.items():
            assert int(row[f"reason:{reason}"]) == n
        assert row["acceptance_rate"] == f"{counts.accepted / counts.shown:.3f}"
    weekly = [r for r in rows if r["week"] != "all"]
    assert sum(int(r["shown"]) for r in weekly) == sum(d.shown for d in days)


class _Urls(HTMLParser):
    """Every tag and every attribute value that could make a browser fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "srcset", "data", "poster"):
                self.refs.append(value or "")


async def test_the_page_is_self_contained(tmp_path: Path) -> None:
    store, _ = await _seeded(tmp_path)
    try:
        page = report_html.render(await report.build(store.engine, now=NOW))
    finally:
        await store.close()
    assert "http://" not in page and "https://" not in page and "@import" not in page
    # clip paths and hatch patterns point inside the page
    assert all(ref.startswith("#") for ref in re.findall(r"url\(\s*['\"]?([^)'\"]*)", page))
    parser = _Urls()
    parser.feed(page)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(parser.tags)
    for ref in parser.refs:  # only the page's own anchors, its form and its CSV link
        assert ref == "" or ref.startswith("#") or ref.startswith("report.csv"), ref
    assert page.count("<svg") == 3
    assert "first-line" in page and "Already addressed" in page
    assert "Oscar Petrov" not in page  # override comments are never shown


def test_the_page_says_so_when_there_is_nothing(tmp_path: Path) -> None:
    page = report_html.render(report.Report(None, NOW, [], {}))
    assert "No cards were shown" in page and "<svg" not in page


def test_the_report_command_prints_and_writes_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def setup() -> list[Day]:
        store, days = await _seeded(tmp_path)
        await store.close()
        return days

    import asyncio

    days = asyncio.run(setup())
    monkeypatch.setenv("MSCDS_DATA_DIR", str(tmp_path))
    html_file, csv_file = tmp_path / "out" / "report.html", tmp_path / "report.csv"
    code = main(["report", "--html", str(html_file), "--csv", str(csv_file)])
    assert code == 0
    printed = capsys.readouterr().out
    first_line = expected(days)["first-line"]
    line = next(x for x in printed.splitlines() if x.startswith("first-line "))
    assert re.split(r"\s+", line)[1:4] == [
        str(first_line.shown),
        str(first_line.accepted),
        str(first_line.overridden),
    ]
    assert html_file.read_text().count("<svg") == 3
    assert "<form" not in html_file.read_text()  # no controls in a file
    assert csv_file.read_text().startswith("week,kind,")
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--since", "last tuesday"])
    assert exit_.value.code == 2
    assert "--since" in capsys.readouterr().err
    monkeypatch.setenv("MSCDS_DATA_DIR", str(tmp_path / "nowhere"))
    assert main(["report"]) == 2
    assert "no database at" in capsys.readouterr().err


@pytest.fixture
def admin(settings: Settings) -> TestClient:
    with TestClient(create_app(settings.model_copy(update={}))) as plain:
        assert plain.get("/admin/report").status_code == 404  # off by default
    guarded = Settings(**{**settings.model_dump(), "admin_token": ADMIN_TOKEN})
    with TestClient(create_app(guarded)) as client:
        client.portal.call(seed, client.app.state.store.engine)
        yield client


def _basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"gov:{password}".encode()).decode()}


def test_the_admin_page_asks_for_its_credential(admin: TestClient) -> None:
    refused = admin.get("/admin/report")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Basic ")
    assert admin.get("/admin/report", headers=_basic("wrong-password-000")).status_code == 401
    assert admin.get("/admin/report.csv").status_code == 401
    page = admin.get("/admin/report", headers=_basic(ADMIN_TOKEN))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert page.text.count("<svg") == 3 and "<form" in page.text


def test_the_admin_page_counts_the_calls_just_answered(admin: TestClient) -> None:
    from tests.service.governance_helpers import cards_of, sample_request

    shown = cards_of(admin, sample_request("ms-opioid-benzo"))
    today = datetime.now(UTC).date().isoformat()
    rows = admin.get(f"/admin/report.csv?since={today}", headers=_basic(ADMIN_TOKEN))
    assert rows.status_code == 200
    totals = {r["kind"]: r for r in csv.DictReader(io.StringIO(rows.text)) if r["week"] == "all"}
    assert {k: int(r["shown"]) for k, r in totals.items()} == {k: 1 for k in shown}


def test_a_bad_since_is_a_400_naming_it(admin: TestClient) -> None:
    response = admin.get("/admin/report?since=2026-13-01", headers=_basic(ADMIN_TOKEN))
    assert response.status_code == 400
    assert "since" in response.json()["issue"][0]["diagnostics"]
