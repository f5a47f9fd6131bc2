"""Load the sample patients into a real FHIR server (``ms-backpain-cds load-samples``).

Each sample is POSTed to the server's base URL as one transaction Bundle whose entries are
``PUT Type/id`` with stable ids, so a re-run updates the same resources instead of duplicating
them. Transient failures (5xx, 429, timeouts, refused connections while a container starts) are
retried with a bounded exponential backoff; anything else is reported per bundle with the status
and the server's OperationOutcome diagnostics, and the remaining bundles are still loaded.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TextIO

import httpx

from service.samples import SampleInfo, find_sample, list_samples, load_bundle

__all__ = [
    "BundleFailure",
    "LoadReport",
    "ProgressFn",
    "load_samples",
    "retry_delay",
    "text_progress",
]

FHIR_JSON = "application/fhir+json"
MAX_DELAY_S = 10.0
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})

ProgressFn = Callable[[int, int, str], None]
"""Called after each bundle with (done, total, sample id)."""


@dataclass(frozen=True, slots=True)
class BundleFailure:
    sample_id: str
    status: int | None  # None when the server was never reached
    message: str

    def __str__(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no response"
        return f"{self.sample_id}: {status}: {self.message}"


@dataclass(slots=True)
class LoadReport:
    fhir_server: str
    loaded: list[str] = field(default_factory=list)
    failed: list[BundleFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        """A few lines for the terminal: counts, then one line per failed bundle."""
        total = len(self.loaded) + len(self.failed)
        lines = [f"Loaded {len(self.loaded)} of {total} sample patients into {self.fhir_server}"]
        lines += [f"  FAILED {failure}" for failure in self.failed]
        return "\n".join(lines)


def text_progress(stream: TextIO | None = None, *, width: int = 30) -> ProgressFn:
    """A one-line text progress bar (redrawn in place on a terminal, one line per step if not)."""
    out = stream or sys.stderr
    redraw = out.isatty() if hasattr(out, "isatty") else False

    def show(done: int, total: int, sample_id: str) -> None:
        filled = width * done // total if total else width
        line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {sample_id}"
        if redraw:
            out.write(f"\r\x1b[2K{line}" + ("\n" if done >= total else ""))
        else:
            out.write(line + "\n")
        out.flush()

    return show


def retry_delay(attempt: int, backoff: float, retry_after: str | None = None) -> float:
    """Seconds to wait before retry number `attempt` (0-based): the server's Retry-After when it
    gives seconds, else exponential; never more than MAX_DELAY_S.
    """
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), MAX_DELAY_S)
        except ValueError:
            pass  # an HTTP date: fall back to our own schedule
    return min(backoff * (2**attempt), MAX_DELAY_S)


def _outcome_message(response: httpx.Response) -> str:
    """The OperationOutcome's diagnostics, or the start of the body when it is not one."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        parts = []
        for issue in body.get("issue") or []:
            if not isinstance(issue, dict):
                continue
            details = issue.get("details") if isinstance(issue.get("details"), dict) else {}
            text = issue.get("diagnostics") or details.get("text") or issue.get("code") or ""
            parts.append(f"{issue.get('severity', 'error')}: {text}".strip())
        if parts:
            return "; ".join(parts)
    text = " ".join(response.text.split())
    return (text[:300] + "…") if len(text) > 300 else (text or response.reason_phrase)


def _failed_entries(body: Any) -> list[str]:
    """Entries of a transaction-response whose status is not 2xx (a lenient server's partial)."""
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        return []
    bad = []
    for entry in body.get("entry") or []:
        status = ((entry or {}).get("response") or {}).get("status", "")
        if isinstance(status, str) and status[:1] not in ("", "2"):
            bad.append(status)
    return bad


async def _post_bundle(
    client: httpx.AsyncClient,
    url: str,
    sample_id: str,
    bundle: dict[str, Any],
    *,
    retries: int,
    backoff: float,
) -> BundleFailure | None:
    headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
    failure: BundleFailure | None = None
    for attempt in range(retries + 1):
        retry_after = None
        try:
            response = await client.post(url, json=bundle, headers=headers)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            failure = BundleFailure(sample_id, None, f"{type(exc).__name__}: {exc or 'timed out'}")
        else:
            if response.is_success:
                try:
                    bad = _failed_entries(response.json())
                except ValueError:
                    bad = []
                if not bad:
                    return None
                message = f"{len(bad)} entries failed ({', '.join(sorted(set(bad)))})"
                return BundleFailure(sample_id, response.status_code, message)
            failure = BundleFailure(sample_id, response.status_code, _outcome_message(response))
            if response.status_code not in _RETRYABLE_STATUS:
                return failure
            retry_after = response.headers.get("retry-after")
        if attempt < retries:
            await asyncio.sleep(retry_delay(attempt, backoff, retry_after))
    if failure is not None and retries:
        failure = BundleFailure(
            sample_id, failure.status, f"{failure.message} (after {retries + 1} attempts)"
        )
    return failure


_DEFAULT_PROGRESS: Any = object()


async def load_samples(
    fhir_server: str,
    *,
    samples: Iterable[str | SampleInfo] | None = None,
    client: httpx.AsyncClient | None = None,
    retries: int = 3,
    backoff: float = 0.5,
    timeout: float = 30.0,
    today: date | None = None,
    progress: ProgressFn | None = _DEFAULT_PROGRESS,
) -> LoadReport:
    """POST each sample (default: all) as a transaction Bundle to `fhir_server`, one at a time.

    `progress` defaults to a text bar on stderr; pass None for silence. Never raises for a failed
    bundle: check `LoadReport.ok` and print `LoadReport.summary()`.
    """
    if not fhir_server.startswith(("http://", "https://")):
        raise ValueError(f"FHIR server must be an http(s) URL, not {fhir_server!r}")
    url = fhir_server.rstrip("/")
    chosen = list_samples() if samples is None else [find_sample(s) for s in samples]
    show = text_progress() if progress is _DEFAULT_PROGRESS else progress
    report = LoadReport(fhir_server=url)
    own_client = client is None
    http = client or httpx.AsyncClient(timeout=timeout)
    try:
        for done, info in enumerate(chosen, 1):
            bundle = load_bundle(info, today=today)
            failure = await _post_bundle(
                http, url, info.id, bundle, retries=max(0, retries), backoff=backoff
            )
            if failure is None:
                report.loaded.append(info.id)
            else:
                report.failed.append(failure)
            if show is not None:
                show(done, len(chosen), info.id)
    finally:
        if own_client:
            await http.aclose()
    return report
