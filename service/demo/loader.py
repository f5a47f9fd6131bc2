"""Load the sample patients into a real FHIR server (``ms-backpain-cds load-samples``).

Each sample is POSTed to the server's base URL as one transaction Bundle of conditional updates
keyed on a sample identifier (see `service.demo.transaction`), so a server that assigns its own
ids accepts it and a re-run updates the same resources instead of duplicating them. A bearer
token, given or obtained with SMART Backend Services client credentials
(`service.fhir.credentials`), goes with every request. Transient failures (5xx, 429, timeouts,
refused connections while a container starts) are retried with a bounded exponential backoff;
anything else is reported per bundle, and per entry, with the server's OperationOutcome, and the
remaining bundles are still loaded, unless the server refuses the credentials (401): then every
other bundle would fail the same way, so loading stops.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TextIO
from urllib.parse import quote

import httpx

from service.demo.samples import SampleInfo, find_sample, list_samples, load_bundle
from service.demo.transaction import (
    EntryError,
    EntryRef,
    conditional_transaction,
    entry_results,
    response_outcome,
)
from service.fhir.credentials import Credentials, access_token

__all__ = [
    "BundleFailure",
    "BundleResult",
    "LoadReport",
    "LoadedBundle",
    "ProgressFn",
    "load_samples",
    "retry_delay",
    "sandbox_link",
    "text_progress",
]

FHIR_JSON = "application/fhir+json"
MAX_DELAY_S = 10.0
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_NO_CREDENTIALS = (
    "the FHIR server requires authentication: give a bearer token (--token-file, --token or "
    "MSCDS_LOAD_TOKEN) or SMART Backend Services credentials (--client-id, --private-key)"
)
_TOKEN_REFUSED = "the FHIR server refused the access token (expired, or issued for another server?)"
_FORBIDDEN = "the access token does not allow these writes (check its scopes)"


@dataclass(frozen=True, slots=True)
class LoadedBundle:
    sample_id: str
    patient_id: str | None  # the id the server gave the Patient (from response.location)
    created: int
    updated: int


@dataclass(frozen=True, slots=True)
class BundleFailure:
    sample_id: str
    status: int | None  # None when the server was never reached
    message: str
    entries: tuple[EntryError, ...] = ()  # the entries a transaction-response marked as failed

    def __str__(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no response"
        lines = [f"{self.sample_id}: {status}: {self.message}"]
        lines += [f"    {entry}" for entry in self.entries]
        return "\n".join(lines)


BundleResult = LoadedBundle | BundleFailure

ProgressFn = Callable[[int, int, BundleResult], None]
"""Called after each bundle with (done, total, what happened to it)."""


@dataclass(slots=True)
class LoadReport:
    fhir_server: str
    loaded: list[LoadedBundle] = field(default_factory=list)
    failed: list[BundleFailure] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # not tried once the server refused us

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped

    @property
    def patient_ids(self) -> dict[str, str]:
        """Sample id -> the Patient id the server assigned."""
        return {b.sample_id: b.patient_id for b in self.loaded if b.patient_id}

    def summary(self) -> str:
        """Lines for the terminal: counts, assigned patient ids, then each failure in full."""
        total = len(self.loaded) + len(self.failed) + len(self.skipped)
        created = sum(b.created for b in self.loaded)
        updated = sum(b.updated for b in self.loaded)
        lines = [
            f"Loaded {len(self.loaded)} of {total} sample patients into {self.fhir_server} "
            f"({created} resources created, {updated} updated)"
        ]
        if self.patient_ids:
            lines.append("Patient ids assigned by the server:")
            lines += [f"  {sid:28} Patient/{pid}" for sid, pid in self.patient_ids.items()]
        lines += [f"FAILED {failure}" for failure in self.failed]
        if self.skipped:
            lines.append(f"Not attempted ({len(self.skipped)}): {', '.join(self.skipped)}")
        return "\n".join(lines)


def text_progress(stream: TextIO | None = None) -> ProgressFn:
    """One line per bundle: the Patient id the server gave it and the counts, or the failure."""
    out = stream or sys.stderr

    def show(done: int, total: int, result: BundleResult) -> None:
        head = f"[{done:>{len(str(total))}}/{total}] {result.sample_id}"
        if isinstance(result, LoadedBundle):
            patient = f"Patient/{result.patient_id}" if result.patient_id else "no Patient id"
            line = f"{head}: {patient} ({result.created} created, {result.updated} updated)"
        else:
            status = f"HTTP {result.status}" if result.status is not None else "no response"
            line = f"{head}: FAILED ({status})"
        out.write(line + "\n")
        out.flush()

    return show


def sandbox_link(
    fhir_server: str, patient_id: str, service_url: str, *, sandbox: str | None = None
) -> str:
    """The CDS Hooks Sandbox URL that opens `patient_id` on `fhir_server` with the service at
    `service_url` (its discovery endpoint is ``{service_url}/cds-services``).
    """
    from service.demo.fhir_server import SANDBOX

    params = [
        ("fhirServiceUrl", fhir_server.rstrip("/")),
        ("patientId", patient_id),
        ("serviceDiscoveryURL", f"{service_url.rstrip('/')}/cds-services"),
    ]
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
    return f"{(sandbox or SANDBOX).rstrip('/')}/?{query}"


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


def _answer(sample_id: str, response: httpx.Response, refs: list[EntryRef]) -> BundleResult:
    """What a 2xx transaction-response says: the assigned Patient id, or the failed entries."""
    try:
        body = response.json()
    except ValueError:
        body = None
    results = entry_results(body, refs)
    bad = tuple(EntryError(r.entry, r.status, r.outcome) for r in results if not r.ok)
    if bad:
        message = f"{len(bad)} of {len(refs)} entries failed"
        return BundleFailure(sample_id, response.status_code, message, bad)
    patient = next((r.server_id for r in results if r.entry.resource_type == "Patient"), None)
    created = sum(r.created for r in results)
    updated = sum(r.status.startswith("200") for r in results)
    return LoadedBundle(sample_id, patient, created, updated)


def _refusal(
    sample_id: str, response: httpx.Response, refs: list[EntryRef], *, authenticated: bool
) -> BundleFailure:
    outcome = response_outcome(response, refs)
    if response.status_code == 401:
        reason = _TOKEN_REFUSED if authenticated else _NO_CREDENTIALS
    elif response.status_code == 403:
        reason = _FORBIDDEN
    else:
        return BundleFailure(sample_id, response.status_code, outcome)
    return BundleFailure(sample_id, response.status_code, f"{reason} (server: {outcome})")


async def _post_bundle(
    client: httpx.AsyncClient,
    url: str,
    sample_id: str,
    bundle: dict[str, Any],
    *,
    token: str | None,
    retries: int,
    backoff: float,
) -> BundleResult:
    transaction, refs = conditional_transaction(bundle)
    headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    failure = BundleFailure(sample_id, None, "not sent")
    for attempt in range(retries + 1):
        retry_after = None
        try:
            response = await client.post(url, json=transaction, headers=headers)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            failure = BundleFailure(sample_id, None, f"{type(exc).__name__}: {exc or 'timed out'}")
        else:
            if response.is_success:
                return _answer(sample_id, response, refs)
            failure = _refusal(sample_id, response, refs, authenticated=token is not None)
            if response.status_code not in _RETRYABLE_STATUS:
                return failure
            retry_after = response.headers.get("retry-after")
        if attempt < retries:
            await asyncio.sleep(retry_delay(attempt, backoff, retry_after))
    if retries:
        message = f"{failure.message} (after {retries + 1} attempts)"
        failure = BundleFailure(sample_id, failure.status, message)
    return failure


_DEFAULT_PROGRESS: Any = object()


async def load_samples(
    fhir_server: str,
    *,
    samples: Iterable[str | SampleInfo] | None = None,
    credentials: Credentials | None = None,
    client: httpx.AsyncClient | None = None,
    retries: int = 3,
    backoff: float = 0.5,
    timeout: float = 30.0,
    today: date | None = None,
    progress: ProgressFn | None = _DEFAULT_PROGRESS,
) -> LoadReport:
    """POST each sample (default: all) as a transaction Bundle to `fhir_server`, one at a time.

    `progress` defaults to a line per bundle on stderr; pass None for silence. Raises
    `CredentialError` when client credentials cannot be exchanged for a token; never raises for a
    failed bundle: check `LoadReport.ok` and print `LoadReport.summary()`.
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
        token = None if credentials is None else await access_token(credentials, http, url)
        for done, info in enumerate(chosen, 1):
            bundle = load_bundle(info, today=today)
            result = await _post_bundle(
                http, url, info.id, bundle, token=token, retries=max(0, retries), backoff=backoff
            )
            if isinstance(result, LoadedBundle):
                report.loaded.append(result)
            else:
                report.failed.append(result)
            if show is not None:
                show(done, len(chosen), result)
            if isinstance(result, BundleFailure) and result.status == 401:
                report.skipped = [later.id for later in chosen[done:]]
                break
    finally:
        if own_client:
            await http.aclose()
    return report
