"""Synthetic MS patients and draft orders, for demo mode, `evaluate`, `load-samples` and tests.

The data lives in `service/data/samples/` (one FHIR R4 transaction Bundle per patient, plus
`index.json`) and `service/data/orders/` (one draft resource per order, plus `index.json`).

Dates are stored relative so the clinical stories never go stale: any string value that is exactly
``{{today}}`` or ``{{today<offsets>}}`` becomes an ISO date when loaded. Each offset is ``+N`` or
``-N`` followed by ``d`` (days), ``w`` (weeks), ``m`` (calendar months) or ``y`` (calendar years),
applied left to right: ``{{today-10d}}`` is ten days ago, ``{{today-38y-140d}}`` a birth date for
someone aged 38. In orders, ``{{patient}}`` becomes the patient id.
"""

from __future__ import annotations

import calendar
import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

__all__ = [
    "OrderInfo",
    "SampleInfo",
    "SampleNotFound",
    "find_order",
    "find_sample",
    "list_orders",
    "list_samples",
    "load_bundle",
    "load_order",
    "resources_by_patient",
    "sample_resources",
    "shift_dates",
]

_DATE_TOKEN = re.compile(r"\{\{today((?:[+-]\d+[dwmy])*)\}\}")
_OFFSET = re.compile(r"([+-])(\d+)([dwmy])")
_PATIENT_TOKEN = "{{patient}}"


class SampleNotFound(LookupError):
    """No sample patient or order matches the given name, id or path."""


@dataclass(frozen=True, slots=True)
class SampleInfo:
    """One sample patient: its id (also the Patient.id), display name, story and promised cards."""

    id: str
    name: str
    description: str
    cards: tuple[str, ...]  # card kinds the sample should earn, e.g. ("first-line",)
    source: Traversable | Path = field(repr=False)

    @property
    def patient_id(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True)
class OrderInfo:
    """One sample draft order and the order-card kinds it earns for given sample patients."""

    name: str
    description: str
    resource_type: str
    expected: dict[str, tuple[str, ...]]  # sample patient id -> card kinds ([] means no card)
    source: Traversable | Path = field(repr=False)

    @property
    def example_patient(self) -> str:
        """The first patient listed in `expected`: the story this order was written for."""
        return next(iter(self.expected))


# ---- relative dates -------------------------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def resolve_date_token(value: str, today: date) -> str | None:
    """The ISO date a ``{{today...}}`` string stands for, or None when it is not such a token."""
    match = _DATE_TOKEN.fullmatch(value)
    if match is None:
        return None
    day = today
    for sign, amount, unit in _OFFSET.findall(match.group(1)):
        n = int(amount) * (1 if sign == "+" else -1)
        if unit == "d":
            day += timedelta(days=n)
        elif unit == "w":
            day += timedelta(weeks=n)
        elif unit == "m":
            day = _add_months(day, n)
        else:
            day = _add_months(day, 12 * n)
    return day.isoformat()


def shift_dates(data: Any, today: date, *, patient_id: str | None = None) -> Any:
    """A deep copy of `data` with every date token (and ``{{patient}}``) replaced."""
    if isinstance(data, dict):
        return {
            key: shift_dates(value, today, patient_id=patient_id) for key, value in data.items()
        }
    if isinstance(data, list):
        return [shift_dates(value, today, patient_id=patient_id) for value in data]
    if isinstance(data, str) and "{{" in data:
        resolved = resolve_date_token(data, today)
        if resolved is not None:
            return resolved
        if patient_id is not None and _PATIENT_TOKEN in data:
            return data.replace(_PATIENT_TOKEN, patient_id)
    return data


# ---- index ----------------------------------------------------------------------------------


def _data_dir(kind: str) -> Traversable:
    return resources.files("service").joinpath("data", kind)


def _read_json(source: Traversable | Path) -> Any:
    with source.open("rb") as fh:
        return json.load(fh)


@cache
def _sample_index() -> tuple[SampleInfo, ...]:
    folder = _data_dir("samples")
    return tuple(
        SampleInfo(
            id=row["id"],
            name=row["name"],
            description=row["description"],
            cards=tuple(row["cards"]),
            source=folder.joinpath(row["file"]),
        )
        for row in _read_json(folder.joinpath("index.json"))["samples"]
    )


@cache
def _order_index() -> tuple[OrderInfo, ...]:
    folder = _data_dir("orders")
    infos = []
    for row in _read_json(folder.joinpath("index.json"))["orders"]:
        source = folder.joinpath(row["file"])
        infos.append(
            OrderInfo(
                name=row["name"],
                description=row["description"],
                resource_type=_read_json(source)["resourceType"],
                expected={pid: tuple(kinds) for pid, kinds in row["expected"].items()},
                source=source,
            )
        )
    return tuple(infos)


def _raw(source: Traversable | Path) -> Any:
    """A sample file's JSON, read once per process (every bundled path is hashable)."""
    return _read_cached(source)  # type: ignore[arg-type]  # Traversable declares no __hash__


@cache
def _read_cached(source: Traversable | Path) -> Any:
    return _read_json(source)


def list_samples() -> list[SampleInfo]:
    """Every bundled sample patient, in index order (the first is the demo's default patient)."""
    return list(_sample_index())


def list_orders() -> list[OrderInfo]:
    """Every bundled sample draft order, in index order."""
    return list(_order_index())


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("_", "-").split())


def find_sample(name_or_id_or_path: str | Path | SampleInfo) -> SampleInfo:
    """Resolve a sample id (``ms-acute-lbp``), patient name (``Maria Alvarez``, any case) or a
    path to a Bundle JSON file (any transaction/collection/searchset Bundle with one Patient).

    Raises SampleNotFound listing the known ids.
    """
    if isinstance(name_or_id_or_path, SampleInfo):
        return name_or_id_or_path
    wanted = _norm(str(name_or_id_or_path))
    for info in _sample_index():
        if wanted in (info.id, _norm(info.name)):
            return info
    path = Path(name_or_id_or_path).expanduser()
    if path.is_file():
        return _info_from_file(path)
    known = ", ".join(info.id for info in _sample_index())
    raise SampleNotFound(f"no sample patient {str(name_or_id_or_path)!r}; known: {known}")


def _info_from_file(path: Path) -> SampleInfo:
    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SampleNotFound(f"{path}: not a readable JSON file ({exc})") from exc
    patients = [r for r in _bundle_resources(bundle) if r.get("resourceType") == "Patient"]
    if len(patients) != 1 or not isinstance(patients[0].get("id"), str):
        raise SampleNotFound(f"{path}: expected a Bundle holding exactly one Patient with an id")
    return SampleInfo(
        id=patients[0]["id"], name=path.stem, description=f"file {path}", cards=(), source=path
    )


def find_order(name_or_path: str | Path | OrderInfo) -> OrderInfo:
    """Resolve a sample order name (``lumbar-mri``) or a path to a draft resource JSON file."""
    if isinstance(name_or_path, OrderInfo):
        return name_or_path
    wanted = _norm(str(name_or_path))
    for info in _order_index():
        if wanted == info.name:
            return info
    path = Path(name_or_path).expanduser()
    if path.is_file():
        try:
            resource_type = json.loads(path.read_text(encoding="utf-8")).get("resourceType", "")
        except (OSError, ValueError, AttributeError) as exc:
            raise SampleNotFound(f"{path}: not a JSON FHIR resource ({exc})") from exc
        return OrderInfo(path.stem, f"file {path}", str(resource_type), {}, path)
    known = ", ".join(info.name for info in _order_index())
    raise SampleNotFound(f"no sample order {str(name_or_path)!r}; known: {known}")


# ---- loading --------------------------------------------------------------------------------


def _bundle_resources(bundle: Any) -> list[dict[str, Any]]:
    if not isinstance(bundle, dict):
        return []
    entries = bundle.get("entry") or []
    return [
        e["resource"]
        for e in entries
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]


def load_bundle(sample: str | Path | SampleInfo, *, today: date | None = None) -> dict[str, Any]:
    """The sample's transaction Bundle with dates shifted relative to `today` (default: today).

    Entries are ``PUT Type/id`` with stable ids, so posting it twice leaves one copy.
    """
    info = find_sample(sample)
    return shift_dates(copy.deepcopy(_raw(info.source)), today or date.today())


def sample_resources(
    sample: str | Path | SampleInfo, *, today: date | None = None
) -> list[dict[str, Any]]:
    """The plain FHIR resources of a sample (what a FHIR server would hold), dates shifted."""
    return _bundle_resources(load_bundle(sample, today=today))


def resources_by_patient(
    samples: Iterable[str | SampleInfo] | None = None, *, today: date | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Patient id -> that patient's resources, for every sample (or the given ones)."""
    chosen = list_samples() if samples is None else [find_sample(s) for s in samples]
    return {info.id: sample_resources(info, today=today) for info in chosen}


def load_order(
    name: str | Path | OrderInfo,
    *,
    patient_id: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """A sample draft order (status ``draft``) for `patient_id` (default: its example patient),
    dated `today`; ready to put into ``context.draftOrders``.
    """
    info = find_order(name)
    pid = patient_id or (info.example_patient if info.expected else "example-patient")
    return shift_dates(copy.deepcopy(_raw(info.source)), today or date.today(), patient_id=pid)
