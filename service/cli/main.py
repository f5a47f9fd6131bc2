"""The `ms-backpain-cds` command: run the server, evaluate a patient offline, load samples."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

from service.cli.evaluate import HOOKS
from service.cli.evaluate import run as run_evaluate
from service.config import ConfigError, check_auth, load_settings

KEEP_ALIVE_S = 5  # an idle connection between requests (uvicorn's default, stated)
LOAD_TOKEN_ENV = "MSCDS_LOAD_TOKEN"


def main(argv: list[str] | None = None) -> int:
    """Run one command; a closed stdout (``ms-backpain-cds samples | head``) ends it quietly."""
    try:
        try:
            return _main(argv)
        finally:
            sys.stdout.flush()  # meet a closed pipe here rather than at interpreter exit
    except BrokenPipeError:
        # As the Python docs advise (signal module, "Note on SIGPIPE"): point stdout at devnull
        # so the interpreter's own final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader went away


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="ms-backpain-cds", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the CDS Hooks service")
    serve.add_argument("--host", help="address to listen on (MSCDS_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (MSCDS_PORT, default 8000)")
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes sharing the port (default 1)"
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="also serve the sample patients at /fhir and trust the CDS Hooks Sandbox (dev only)",
    )

    evaluate = commands.add_parser(
        "evaluate", help="run the pipeline offline on a request, a patient Bundle or a sample"
    )
    evaluate.add_argument(
        "patient", help="a CDS Hooks request or FHIR Bundle (JSON file), or a sample patient name"
    )
    evaluate.add_argument("--hook", choices=HOOKS, help="the hook for a Bundle or sample")
    evaluate.add_argument(
        "--orders", action="append", help="draft order: a JSON file or a sample order name"
    )
    evaluate.add_argument("--json", action="store_true", help="print the raw CDS Hooks response")

    commands.add_parser("samples", help="list the sample patients and sample orders")

    report = commands.add_parser(
        "report", help="governance report per card kind: shown, accepted, overridden, snoozed"
    )
    report.add_argument("--since", type=_day, help="count from this UTC day on (YYYY-MM-DD)")
    report.add_argument("--html", type=Path, help="also write the page with its plots to FILE")
    report.add_argument("--csv", type=Path, help="also write the numbers to FILE")

    load = commands.add_parser("load-samples", help="load the sample patients into a FHIR server")
    _add_load_arguments(load)

    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "samples":
            return _list_samples()
        if args.command == "load-samples":
            return _load_samples(args)
        if args.command == "report":
            return _report(args)
        return run_evaluate(args)
    except ConfigError as exc:
        print(f"ms-backpain-cds: {exc}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace) -> int:
    from service.http.app import create_app
    from service.logs import configure

    overrides: dict[str, Any] = {
        k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None
    }
    if args.demo:
        overrides["demo"] = True
    settings = load_settings(**overrides)  # fail here, once, on a bad configuration
    check_auth(settings)  # and on one that cannot be served safely (demo mode beside production)
    # The server's own lines (here: the supervisor's) as JSON lines, like the service's.
    configure(settings.log_level)
    if settings.demo:
        _print_demo_banner(settings.host, settings.port)
    from service.http import shutdown
    from service.http.slow_clients import HTTP_PROTOCOL

    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,  # service.logs.configure has routed uvicorn's loggers
        "access_log": False,
        "server_header": False,
        "loop": event_loop(args.workers),
        # Slow clients: headers within MSCDS_HEADER_READ_TIMEOUT_S (this protocol), the body
        # within MSCDS_BODY_READ_TIMEOUT_S (the app), idle keep-alive connections closed after
        # KEEP_ALIVE_S. See service/http/slow_clients.py.
        "http": HTTP_PROTOCOL,
        "timeout_keep_alive": KEEP_ALIVE_S,
    }

    if args.workers > 1:
        # Worker processes build their own app from the environment: pass the overrides there.
        os.environ.update(
            {
                f"MSCDS_{k.upper()}": str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in overrides.items()
            }
        )
        shutdown.run(
            "service.http.app:create_app",
            factory=True,
            workers=args.workers,
            drain_delay_s=settings.shutdown_delay_s,
            **options,
        )
    else:
        shutdown.run(create_app(settings), drain_delay_s=settings.shutdown_delay_s, **options)
    return 0


def event_loop(workers: int) -> str:
    """The standard library's event loop for one worker, uvloop for several.

    Under many busy keep-alive connections uvloop let some requests wait a second full round of
    the others (a higher p99 than the standard loop's) for the same CPU per request.
    With several workers sharing one socket, though, the standard loop accepts every waiting
    connection in the worker that wakes first (its keep-alive connections then stay there), and
    leaves TCP_NODELAY off on uvicorn's shared socket; uvloop spreads them and sets it. See
    docs/performance.md.
    """
    return "asyncio" if workers <= 1 else "uvloop"


def _print_demo_banner(host: str, port: int) -> None:
    from service.demo.fhir_server import sandbox_url
    from service.demo.samples import list_samples

    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    first = list_samples()[0]
    print(
        f"Demo mode: sample patients at {base}/fhir, discovery at {base}/cds-services\n"
        f"Open the CDS Hooks Sandbox with {first.name} ({first.id}):\n"
        f"  {sandbox_url(base, first.patient_id)}\n"
        "Demo mode trusts the Sandbox's published key, which anyone can sign with: "
        "never use it for real patients.",
        file=sys.stderr,
        flush=True,
    )


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day (YYYY-MM-DD)") from None


def _report(args: argparse.Namespace) -> int:
    from service.governance import report

    settings = load_settings()
    try:
        text = asyncio.run(
            report.run(settings.async_database_url, since=args.since, html=args.html, csv=args.csv)
        )
    except OSError as exc:
        print(f"ms-backpain-cds: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


def _list_samples() -> int:
    from service.demo.samples import list_orders, list_samples

    print("Sample patients (evaluate NAME):")
    for sample in list_samples():
        print(f"  {sample.id:28} {sample.description}  [{', '.join(sample.cards) or 'no cards'}]")
    print("Sample orders (evaluate NAME --hook order-select --orders ORDER):")
    for order in list_orders():
        print(f"  {order.name:28} {order.description}")
    return 0


def _add_load_arguments(load: argparse.ArgumentParser) -> None:
    load.add_argument(
        "--fhir-server", required=True, help="FHIR base URL, e.g. http://localhost:8080/fhir"
    )
    load.add_argument(
        "--service-url",
        default="http://localhost:8000",
        help="where the CDS service runs, for the Sandbox link (default http://localhost:8000)",
    )
    bearer = load.add_argument_group(
        "bearer token", f"default: the {LOAD_TOKEN_ENV} environment variable, when set"
    ).add_mutually_exclusive_group()
    bearer.add_argument("--token-file", type=Path, help="a file holding the access token")
    bearer.add_argument(
        "--token", help="the access token (other users can see it in the process list)"
    )
    smart = load.add_argument_group(
        "SMART Backend Services client credentials",
        "sign a client assertion (RS384 or ES384) and trade it for a token",
    )
    smart.add_argument("--client-id", help="the client id the authorization server registered")
    smart.add_argument(
        "--private-key", type=Path, help="the client's RSA or EC P-384 private key (PEM or JWK)"
    )
    smart.add_argument(
        "--key-id", help="kid of the registered public key (default: the JWK's or its thumbprint)"
    )
    smart.add_argument(
        "--token-url",
        help="token endpoint (default: from FHIR-SERVER/.well-known/smart-configuration)",
    )
    smart.add_argument("--scope", help="scopes to ask for (default system/*.write)")


def _load_credentials(args: argparse.Namespace) -> Any:
    """The credentials the options (or MSCDS_LOAD_TOKEN) give, or None; CredentialError if bad."""
    from service.fhir import credentials as fc

    smart_only = [args.key_id, args.token_url, args.scope]
    if args.client_id or args.private_key:
        if args.token or args.token_file:
            raise fc.CredentialError("give a bearer token or client credentials, not both")
        if not (args.client_id and args.private_key):
            raise fc.CredentialError("--client-id and --private-key go together")
        key = fc.read_signing_key(args.private_key, key_id=args.key_id)
        scope = args.scope or fc.DEFAULT_SCOPE
        return fc.ClientCredentials(args.client_id, key, args.token_url, scope)
    if any(smart_only):
        raise fc.CredentialError("--key-id, --token-url and --scope go with --client-id")
    if args.token_file:
        return fc.read_token_file(args.token_file)
    token = args.token or os.environ.get(LOAD_TOKEN_ENV, "").strip()
    return fc.BearerToken(token) if token else None


def _load_samples(args: argparse.Namespace) -> int:
    from service.demo.loader import load_samples, sandbox_link
    from service.fhir.credentials import CredentialError

    try:
        credentials = _load_credentials(args)
    except CredentialError as exc:
        print(f"ms-backpain-cds: {exc}", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(load_samples(args.fhir_server, credentials=credentials))
    except ValueError as exc:
        print(f"ms-backpain-cds: {exc}", file=sys.stderr)
        return 2
    except CredentialError as exc:
        print(f"ms-backpain-cds: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    for sample_id, patient_id in report.patient_ids.items():
        print(f"Open {sample_id} in the CDS Hooks Sandbox (service at {args.service_url}):")
        print(f"  {sandbox_link(report.fhir_server, patient_id, args.service_url)}")
        if credentials is not None:
            print("  (the Sandbox reads the FHIR server from the browser, without this token)")
        break
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
