"""Durable feedback at scale: concurrent clients, SIGKILL mid-stream, restart, count the rows.

    .venv/bin/python scripts/durability.py                       # SQLite, 64 clients, 5,000 acks
    .venv/bin/python scripts/durability.py --postgres             # also PostgreSQL (127.0.0.1)
    .venv/bin/python scripts/durability.py --rounds 3 --kill-after 20000

Exit status 0 only when every acknowledged item is stored exactly once after the restart, and
every item sent is stored exactly once after the resend. See docs/reliability.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.reliability.durability import run

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--kill-after", type=int, default=5000, help="acknowledged items")
    parser.add_argument("--rounds", type=int, default=1, help="kill-and-restart runs per database")
    parser.add_argument("--postgres", action="store_true", help="also run against PostgreSQL")
    parser.add_argument("--postgres-url", default=PG_URL)
    args = parser.parse_args()
    targets = [""] + ([args.postgres_url] if args.postgres else [])
    ok = True
    for url in targets:
        for round_ in range(1, args.rounds + 1):
            with tempfile.TemporaryDirectory(prefix="mscds-durability-") as tmp:
                report = asyncio.run(
                    run(
                        Path(tmp),
                        database_url=url,
                        clients=args.clients,
                        kill_after=args.kill_after,
                    )
                )
            print(f"--- round {round_}")
            print("\n".join(report.lines()), flush=True)
            ok = ok and report.ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
