"""The governance page in a real browser: headless Chromium loads /admin/report from a running
server (with its credential), renders the three plots and the table, and prints it to PDF.

Skipped when no Chromium is installed (Debian: `apt-get install chromium`). Set
MSCDS_REPORT_SCREENSHOT=PATH to keep the screenshot (docs/images/governance-report.png is one).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.config import Settings
from service.http.app import create_app
from service.store.feedback import FeedbackStore
from tests.fixtures.reliability.threaded import ThreadedServer
from tests.service.governance_helpers import seed

ADMIN_TOKEN = "admin-token-0123456789"
CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)"
)
WIDTH, HEIGHT = 1100, 3000


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ThreadedServer]:
    async def seeded() -> None:
        store = await FeedbackStore.open(f"sqlite+aiosqlite:///{tmp_path / 'feedback.db'}")
        await seed(store.engine)
        await store.close()

    asyncio.run(seeded())
    settings = Settings(
        data_dir=tmp_path,
        auth="off",
        admin_token=ADMIN_TOKEN,
        # the seed has fixed dates: keep them whenever the test runs
        feedback_retention_days=0,
        ledger_retention_days=0,
        log_level="WARNING",
    )
    running = ThreadedServer(create_app(settings), lifespan="on").start()
    yield running
    running.stop()


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={WIDTH},{HEIGHT}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_page_renders_and_prints_in_chromium(server: ThreadedServer, tmp_path: Path) -> None:
    url = f"http://governance:{ADMIN_TOKEN}@127.0.0.1:{server.port}/admin/report"
    dom = _chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<svg") == 3, "the three plots, as the browser parsed them"
    assert "Per card kind" in dom.stdout and "first-line" in dom.stdout
    assert "authentication" not in dom.stdout.lower()

    png = tmp_path / "governance-report.png"
    shot = _chromium(tmp_path, f"--screenshot={png}", url)
    assert shot.returncode == 0 and png.exists(), shot.stderr[-2000:]
    from PIL import Image  # installed with matplotlib

    with Image.open(png) as image:
        assert image.size == (WIDTH, HEIGHT)
        gray = image.convert("L")
        inked = sum(gray.histogram()[:200]) / (WIDTH * HEIGHT)
    assert inked > 0.03, f"the screenshot is nearly blank ({inked:.1%} inked)"

    pdf = tmp_path / "governance-report.pdf"
    printed = _chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", url)
    assert printed.returncode == 0 and pdf.read_bytes().startswith(b"%PDF"), printed.stderr[-2000:]

    keep = os.environ.get("MSCDS_REPORT_SCREENSHOT")
    if keep:
        Path(keep).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(png, keep)
        shutil.copy(pdf, Path(keep).with_suffix(".pdf"))


def test_without_the_credential_the_browser_gets_no_report(
    server: ThreadedServer, tmp_path: Path
) -> None:
    dom = _chromium(tmp_path, "--dump-dom", f"http://127.0.0.1:{server.port}/admin/report")
    assert "<svg" not in dom.stdout and "Per card kind" not in dom.stdout
