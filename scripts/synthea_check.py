"""Run the service on Synthea charts: false alarms as they are, and advice once MS is added.

    .venv/bin/python scripts/synthea_check.py                        # ../shared/data/synthea-r4
    .venv/bin/python scripts/synthea_check.py tests/fixtures/synthea --json details.json

Why: our other test charts were written by people who knew the rules; Synthea's were not. They
carry real-shaped noise (stopped drugs, resolved problems, old pregnancies, free-text displays) and
real risks (warfarin, NSAIDs, epilepsy, old age, cancer). Synthea has no MS, so any card on a chart
as it is is a false alarm. With MS (SNOMED 24700007) and low back pain (279039007, onset 10 days
ago) added, the cards must respect the rest of the chart: one row per chart shows them for a
clinician to judge, with what order-select says to draft ibuprofen 400 mg and tizanidine 4 mg.

Every date, dateTime and instant is first moved by the same number of days so that the chart's
last date of care is today, and the recency rules (eGFR in 12 months, pregnancy in 42 weeks) see a
current chart: the latest date outside Claim and ExplanationOfBenefit (their billing period runs
a year past the last visit), which a trimmed copy keeps as its Bundle `timestamp`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cards.model import Card
from mappings import PainProfile, classify, load_terminology
from service import pipeline
from service.discovery import SERVICES

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "synthea-r4"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
BILLING = frozenset({"Claim", "ExplanationOfBenefit"})
# FHIR date, dateTime and instant with a full date: its first 10 characters are the day.
DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(T[0-9:.]+(Z|[+-]\d\d:\d\d)?)?$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")  # a partial date: moved as its first day
DRAFTS = (  # id, RxNorm, display, dosage text
    ("draft-ibuprofen", "197805", "ibuprofen 400 MG Oral Tablet", "400 mg by mouth tid with food"),
    ("draft-tizanidine", "313413", "tizanidine 4 MG Oral Tablet", "4 mg by mouth at bedtime"),
)
DRUG_CARDS = ("first-line", "spasticity", "neuropathic")
CLASSES = ("anticoagulant", "antiplatelet", "nsaid", "opioid", "neuropathic_anticonvulsant")
CLASSES += ("gabapentinoid", "benzodiazepine")
# safety concepts shown otherwise (kidney state and pregnancy come from the profile)
SHOWN_APART = frozenset({"ckd_stage_3", "ckd_stage_4", "ckd_stage_5", "end_stage_renal_disease"})
SHOWN_APART |= {"dialysis", "pregnancy"}


def load_bundle(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    return json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)


def _dates(value: Any) -> list[date]:
    if isinstance(value, dict):
        if value.get("resourceType") in BILLING:
            return []
        return [d for v in value.values() for d in _dates(v)]
    if isinstance(value, list):
        return [d for v in value for d in _dates(v)]
    if isinstance(value, str) and DATE.match(value):
        return [date.fromisoformat(value[:10])]
    return []


def last_care_date(bundle: dict[str, Any]) -> date:
    """The chart's latest date outside billing resources (see the module docstring)."""
    return max(_dates(bundle))


def shift_dates(value: Any, days: int) -> Any:
    """A copy of `value` with every FHIR date/dateTime/instant string moved by `days` days."""
    if isinstance(value, dict):
        return {k: shift_dates(v, days) for k, v in value.items()}
    if isinstance(value, list):
        return [shift_dates(v, days) for v in value]
    if isinstance(value, str):
        if DATE.match(value):
            return (date.fromisoformat(value[:10]) + timedelta(days)).isoformat() + value[10:]
        if MONTH.match(value):
            return (date.fromisoformat(value + "-01") + timedelta(days)).isoformat()[:7]
    return value


def current_chart(bundle: dict[str, Any], today: date) -> list[dict[str, Any]]:
    """The chart's resources, every date moved so that its last date of care is `today`."""
    shifted = shift_dates(bundle, (today - last_care_date(bundle)).days)
    return [
        e["resource"] for e in shifted.get("entry") or [] if isinstance(e.get("resource"), dict)
    ]


def patient_of(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return next(r for r in resources if r.get("resourceType") == "Patient")


def _condition(cid: str, pid: str, code: str, display: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "code": {"coding": [{"system": SNOMED, "code": code, "display": display}]},
        "subject": {"reference": f"Patient/{pid}"},
    }


def with_ms_and_back_pain(resources: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    pid = patient_of(resources)["id"]
    back_pain = _condition("added-lbp", pid, "279039007", "Low back pain (finding)")
    back_pain["onsetDateTime"] = (today - timedelta(10)).isoformat()
    return [*resources, _condition("added-ms", pid, "24700007", "Multiple sclerosis"), back_pain]


def draft_orders(pid: str, today: date) -> dict[str, Any]:
    """Draft ibuprofen 400 mg (RxNorm 197805) and tizanidine 4 mg (RxNorm 313413)."""
    entries = []
    for rid, code, display, dose in DRAFTS:
        drug = {"coding": [{"system": RXNORM, "code": code, "display": display}], "text": display}
        order = {"resourceType": "MedicationRequest", "id": rid, "status": "draft"}
        order |= {"intent": "order", "medicationCodeableConcept": drug}
        order |= {"subject": {"reference": f"Patient/{pid}"}, "authoredOn": today.isoformat()}
        entries.append({"resource": order | {"dosageInstruction": [{"text": dose}]}})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def run(hook: str, resources: list[dict[str, Any]], today: date) -> list[Card]:
    """The cards one hook call earns, computed as the hook endpoints compute them."""
    service = next(s for s in SERVICES.values() if s.hook == hook)
    pid = str(patient_of(resources)["id"])
    context: dict[str, Any] = {"userId": "Practitioner/x", "patientId": pid}
    if hook != "patient-view":
        context |= {"draftOrders": draft_orders(pid, today), "selections": []}
    return pipeline.evaluate(service, context, list(resources), on=today)


def kind(card: Card) -> str:
    return card.source.topic.code if card.source.topic is not None else "?"


def proposed(card: Card) -> list[str]:
    """The drugs a card proposes (the text of each MedicationRequest it would create)."""
    return [
        a.resource["medicationCodeableConcept"]["text"]
        for s in card.suggestions
        for a in s.actions
        if a.resource and a.resource.get("resourceType") == "MedicationRequest"
    ]


def notable(p: PainProfile) -> list[str]:
    """What the rules read besides MS and back pain: kidney, pregnancy, safety states, drugs,
    red flags."""
    concepts = load_terminology().concepts
    out = [p.kidney.label] if p.kidney else []
    if p.egfr:
        out.append(f"eGFR {p.egfr.value:.0f} ({p.egfr.date})")
    elif not p.kidney:
        out.append("eGFR unknown")
    if p.pregnancy:
        out.append("pregnant")
    elif p.has("pregnancy"):
        out.append("old pregnancy record")
    out += [
        concepts[c].label.split(" (")[0]
        for c in p.findings
        if c in concepts and concepts[c].category == "safety" and c not in SHOWN_APART
    ]
    for cls in CLASSES:
        out += [f"{cls}: {m.display[:28]}" for m in p.meds_in(cls)]
    out += [f"{'HARD ' if f.hard else ''}flag: {f.label}" for f in p.red_flags]
    return list(dict.fromkeys(out))


def check_chart(path: Path, today: date) -> dict[str, Any]:
    chart = current_chart(load_bundle(path), today)
    as_is = run("patient-view", chart, today) + run("order-select", chart, today)
    ms_chart = with_ms_and_back_pain(chart, today)
    view = run("patient-view", ms_chart, today)
    order = run("order-select", ms_chart, today)
    profile = classify(ms_chart, today=today, patient_id=str(patient_of(chart)["id"]))
    return {
        "chart": path.name.split(".")[0],
        "age": profile.age,
        "sex": patient_of(chart).get("gender", "?"),
        "deceased": profile.deceased,
        "context": notable(profile),
        "as_is": [kind(c) for c in as_is],
        "ms_back_pain": [kind(c) for c in view],
        "proposed": {kind(c): proposed(c) for c in view if kind(c) in DRUG_CARDS},
        "orders": [kind(c) for c in order],
        "cards": [c.dump() for c in as_is + view + order],
    }


def _short(stem: str) -> str:
    *name, uid = stem.split("_")
    return f"{'_'.join(name)[:20]}_{uid[:4]}" if name else stem[:24]


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| chart | age | sex | context | as-is | MS + back pain | proposed | order-select |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        drugs = "; ".join(f"{k}: {', '.join(v) or '-'}" for k, v in r["proposed"].items())
        cells = [
            _short(r["chart"]),
            str(r["age"]),
            r["sex"][:1].upper() + (" (deceased)" if r["deceased"] else ""),
            "; ".join(r["context"]) or "-",
            ", ".join(r["as_is"]) or "none",
            ", ".join(r["ms_back_pain"]) or "none",
            drugs or "-",
            ", ".join(r["orders"]) or "none",
        ]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    alarms = [_short(r["chart"]) for r in rows if r["as_is"]]
    lines += ["", f"Charts with any card as they are (false alarms): {len(alarms)} of {len(rows)}"]
    if alarms:
        lines[-1] += f" ({', '.join(alarms)})"
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--json", type=Path, help="also write each chart's details and cards here")
    parser.add_argument("--today", type=date.fromisoformat, default=pipeline.today())
    args = parser.parse_args(argv)
    paths = sorted(p for p in args.directory.iterdir() if p.name.endswith((".json", ".json.gz")))
    if not paths:
        print(f"no *.json or *.json.gz charts in {args.directory}", file=sys.stderr)
        return 2
    rows = [check_chart(p, args.today) for p in paths]
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
