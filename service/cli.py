"""The `ms-backpain-cds` command: run the server, or evaluate a request offline."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson

from service.config import ConfigError, load_settings
from service.discovery import SERVICES, ServiceDefinition

HOOKS = ("patient-view", "order-select", "order-sign")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ms-backpain-cds", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the CDS Hooks service")
    serve.add_argument("--host", help="address to listen on (MSCDS_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (MSCDS_PORT, default 8000)")

    evaluate = commands.add_parser(
        "evaluate", help="run the pipeline offline on a CDS Hooks request or a patient Bundle"
    )
    evaluate.add_argument("file", type=Path, help="CDS Hooks request JSON, or a FHIR Bundle")
    evaluate.add_argument(
        "--hook", choices=HOOKS, help="the hook, for a Bundle (default: the request's)"
    )
    evaluate.add_argument("--orders", type=Path, help="draft orders (a Bundle or one resource)")

    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        return _evaluate(args)
    except ConfigError as exc:
        print(f"ms-backpain-cds: {exc}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = load_settings(**overrides)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
    )
    return 0


def _read_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        raise SystemExit(f"ms-backpain-cds: cannot read {path}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise SystemExit(f"ms-backpain-cds: {path} is not valid JSON ({exc.msg})") from None


def _evaluate(args: argparse.Namespace) -> int:
    from service import pipeline
    from service.hooks import read_hook_request
    from service.outcome import HTTPProblem
    from service.prefetch import resolve

    document = _read_json(args.file)
    if isinstance(document, dict) and document.get("resourceType") == "Bundle":
        document = request_from_bundle(document, args.hook or "patient-view", args.orders)
    elif args.orders is not None:
        raise SystemExit("ms-backpain-cds: --orders goes with a Bundle, not a CDS Hooks request")
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
    cards = pipeline.evaluate(service, request.context, resolved.resources)
    from cards.model import response_body

    sys.stdout.write(orjson.dumps(response_body(cards), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def service_for_hook(hook: object) -> ServiceDefinition:
    for service in SERVICES.values():
        if service.hook == hook:
            return service
    raise SystemExit(
        f"ms-backpain-cds: no service for hook {hook!r} (use one of {', '.join(HOOKS)})"
    )


def request_from_bundle(bundle: dict[str, Any], hook: str, orders: Path | None) -> dict[str, Any]:
    """A CDS Hooks request whose prefetch holds the Bundle's resources, each under one key.

    Resources go to the first template key of their type; types no template asks for (such as
    Medication resources that MedicationRequests reference) ride along with the medications.
    """
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict):
            by_type.setdefault(str(resource.get("resourceType")), []).append(resource)
    patient = (by_type.get("Patient") or [{}])[0]
    service = service_for_hook(hook)
    prefetch: dict[str, Any] = {}
    for key, template in service.prefetch.items():
        kind = template.split("?", 1)[0].split("/", 1)[0]
        found = by_type.pop(kind, [])
        if "?" not in template:
            prefetch[key] = found[0] if found else None
        else:
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
            prefetch[key]["entry"] = [{"resource": r} for r in found]
    for rest in by_type.values():
        prefetch["medicationRequests"]["entry"].extend({"resource": r} for r in rest)
    context: dict[str, Any] = {
        "userId": "Practitioner/cli-user",
        "patientId": str(patient.get("id") or "unknown"),
    }
    if hook != "patient-view":
        drafts = _read_json(orders) if orders else {"resourceType": "Bundle", "entry": []}
        if isinstance(drafts, dict) and drafts.get("resourceType") != "Bundle":
            drafts = {"resourceType": "Bundle", "entry": [{"resource": drafts}]}
        context["draftOrders"] = drafts
        if hook == "order-select":
            context["selections"] = []
    return {
        "hook": hook,
        "hookInstance": "offline-evaluate",
        "context": context,
        "prefetch": prefetch,
    }


if __name__ == "__main__":
    sys.exit(main())
