"""What the profile's suggestions for other people's files would buy, measured before they land.

    .venv/bin/python bench/whatif.py --check            # same responses with and without them
    .venv/bin/python bench/run.py --whatif              # the benchmark against a patched service

Each patch replaces one function with a faster one that returns the same value; `--check` runs
every sample patient and the benchmark's patients through both and compares the response bytes.
The patches live here only as measurements for the owners of those files (docs/performance.md).
As a server (``python bench/whatif.py --serve --port N``) it runs the service like
``ms-backpain-cds serve`` (one worker) with the patches applied.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _rebind(original: Callable[..., Any], replacement: Callable[..., Any]) -> None:
    """Point every module-level name bound to `original` at `replacement`."""
    for module in list(sys.modules.values()):
        for name, value in list(getattr(module, "__dict__", {}).items()):
            if value is original:
                setattr(module, name, replacement)


def patch_load_terminology() -> None:
    """mappings.loader.load_terminology: skip Path.resolve() (realpath syscalls) on a cache hit."""
    import mappings.loader as loader

    original = loader.load_terminology
    by_argument: dict[Any, Any] = {}

    def load_terminology(data_dir: Any = None) -> Any:
        key = (data_dir, os.environ.get(loader.DATA_DIR_ENV))
        found = by_argument.get(key)
        if found is None:
            found = by_argument[key] = original(data_dir)
        return found

    _rebind(original, load_terminology)


PATCHES: dict[str, Callable[[], None]] = {
    "load_terminology": patch_load_terminology,
}


def apply(names: list[str]) -> None:
    import cards  # noqa: F401  (import everything the patches rebind first)
    import mappings  # noqa: F401
    import service.app  # noqa: F401

    for name in names:
        PATCHES[name]()


def _responses() -> list[bytes]:
    """Every sample patient (patient-view) and the benchmark's patients, both hooks, as bytes."""
    from bench.patients import hook_request, patient_resources
    from cards.model import response_body
    from service import pipeline
    from service.discovery import SERVICES, discovery_document
    from service.samples import list_samples, sample_resources

    out = []
    entries = discovery_document()["services"]
    charts = [sample_resources(s.id) for s in list_samples()]
    charts += [patient_resources(n) for n in (50, 500)]
    for resources in charts:
        for entry in entries:
            body = hook_request(entry, resources)
            service = SERVICES[entry["id"]]
            found = [r for v in body["prefetch"].values() for r in _flat(v)]
            cards = pipeline.evaluate(service, body["context"], found)
            out.append(orjson.dumps(response_body(cards)))
    return out


def _flat(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") == "Bundle":
        return [e["resource"] for e in value.get("entry", [])]
    return [value]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--patch", action="append", choices=sorted(PATCHES))
    args = parser.parse_args()
    names = args.patch or sorted(PATCHES)
    if args.check:
        before = _responses()
        apply(names)
        after = _responses()
        same = sum(a == b for a, b in zip(before, after, strict=True))
        print(f"patches {', '.join(names)}: {same} of {len(before)} responses identical")
        return 0 if same == len(before) else 1
    if args.serve:
        import uvicorn

        from service.app import create_app

        apply(names)
        app = create_app()
        options = {"log_config": None, "access_log": False, "server_header": False}
        uvicorn.run(app, host="127.0.0.1", port=args.port, **options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
