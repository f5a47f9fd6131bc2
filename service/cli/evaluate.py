"""`ms-backpain-cds evaluate`: a patient (a Bundle, a hook request or a sample) through the
hooks offline, and the request a Bundle makes."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from service.discovery import SERVICES, ServiceDefinition

if TYPE_CHECKING:
    from service.fhir.bundle_prefetch import FiledPrefetch

HOOKS = ("patient-view", "order-select", "order-sign")


def _read_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        raise SystemExit(f"ms-backpain-cds: cannot read {path}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise SystemExit(f"ms-backpain-cds: {path} is not valid JSON ({exc.msg})") from None


def _patient_document(name: str) -> Any:
    path = Path(name)
    if path.suffix == ".json" or path.exists():
        return _read_json(path)
    from service.demo.samples import SampleNotFound, find_sample, load_bundle

    try:
        return load_bundle(find_sample(name))
    except SampleNotFound:
        raise SystemExit(
            f"ms-backpain-cds: {name!r} is neither a JSON file nor a sample patient "
            "(list them with: ms-backpain-cds samples)"
        ) from None


def _order_documents(names: list[str], patient_id: str) -> dict[str, Any]:
    from service.demo.samples import SampleNotFound, load_order

    entries: list[dict[str, Any]] = []
    for name in names:
        path = Path(name)
        if path.suffix == ".json" or path.exists():
            document = _read_json(path)
        else:
            try:
                document = load_order(name, patient_id=patient_id)
            except SampleNotFound:
                raise SystemExit(
                    f"ms-backpain-cds: no order file or sample order {name!r}"
                ) from None
        if isinstance(document, dict) and document.get("resourceType") == "Bundle":
            entries.extend(e for e in document.get("entry") or [] if isinstance(e, dict))
        else:
            entries.append({"resource": document})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def run(args: argparse.Namespace) -> int:
    """`ms-backpain-cds evaluate`: print the cards, as text or the CDS Hooks JSON."""
    from cards.model import response_body
    from service import pipeline
    from service.cli.render import render_text
    from service.fhir.decoding import read_hook_request
    from service.fhir.prefetch import resolve
    from service.http.errors import HTTPProblem

    document = _patient_document(args.patient)
    if isinstance(document, dict) and document.get("resourceType") == "Bundle":
        hook = args.hook or ("order-select" if args.orders else "patient-view")
        document, filed = _bundle_request(document, hook)
        if filed.left_out:
            print(
                "ms-backpain-cds: no prefetch template asks for these, left out: "
                + filed.describe_left_out(),
                file=sys.stderr,
            )
        if hook != "patient-view":
            drafts = _order_documents(args.orders or [], document["context"]["patientId"])
            document["context"]["draftOrders"] = drafts
    elif args.orders:
        raise SystemExit("ms-backpain-cds: --orders goes with a Bundle or sample, not a request")
    hook = document.get("hook") if isinstance(document, dict) else None
    if args.hook and hook != args.hook:
        raise SystemExit(f"ms-backpain-cds: the request is for {hook!r}, not {args.hook!r}")
    service = service_for_hook(hook)
    try:
        request = read_hook_request(service, orjson.dumps(document))
    except HTTPProblem as exc:
        raise SystemExit(f"ms-backpain-cds: invalid request: {exc.diagnostics}") from None
    resolved = asyncio.run(resolve(service.prefetch, request, None, offline=True))
    if resolved.missing:
        print(
            "ms-backpain-cds: not in prefetch, treated as empty: " + ", ".join(resolved.missing),
            file=sys.stderr,
        )
    actions: list = []
    try:
        found = pipeline.evaluate(
            service,
            request.context,
            resolved.resources,
            actions=actions,
            hook_instance=request.hookInstance,
        )
    except HTTPProblem as exc:  # more than one call may cost (its free text, its orders)
        raise SystemExit(f"ms-backpain-cds: {exc.diagnostics}") from None
    body = response_body(found, actions)
    if args.json:
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(render_text(body) + "\n")
    return 0


def service_for_hook(hook: object) -> ServiceDefinition:
    for service in SERVICES.values():
        if service.hook == hook:
            return service
    raise SystemExit(
        f"ms-backpain-cds: no service for hook {hook!r} (use one of {', '.join(HOOKS)})"
    )


def request_from_bundle(bundle: dict[str, Any], hook: str) -> dict[str, Any]:
    """A CDS Hooks request whose prefetch holds the Bundle's resources, each under the key whose
    template would have fetched it (`service.fhir.bundle_prefetch`)."""
    return _bundle_request(bundle, hook)[0]


def _bundle_request(bundle: dict[str, Any], hook: str) -> tuple[dict[str, Any], FiledPrefetch]:
    """The request, and what went where (with what no template asks for, left out)."""
    from service.fhir.bundle_prefetch import file_resources

    resources = [
        entry["resource"]
        for entry in bundle.get("entry") or []
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
    ]
    patient: dict[str, Any] = next((r for r in resources if r.get("resourceType") == "Patient"), {})
    patient_id = str(patient.get("id") or "unknown")
    filed = file_resources(resources, service_for_hook(hook).prefetch, patient_id)
    context: dict[str, Any] = {"userId": "Practitioner/cli-user", "patientId": patient_id}
    if hook != "patient-view":
        context["draftOrders"] = {"resourceType": "Bundle", "type": "collection", "entry": []}
    if hook == "order-select":
        context["selections"] = []
    request = {
        "hook": hook,
        "hookInstance": "offline-evaluate",
        "context": context,
        "prefetch": filed.prefetch,
    }
    return request, filed
