"""Every command ends quietly when its reader goes away (``ms-backpain-cds samples | head``).

The command runs as a real process whose stdout is a pipe the reader has already closed, so its
first write meets EPIPE every time, whatever the buffering: it must exit 141 (128 + SIGPIPE, as a
shell reports for `yes | head`) with nothing on stderr, neither a traceback nor "Exception ignored".
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.demo.samples import list_orders, list_samples

ROOT = Path(__file__).parents[3]
COMMAND = [sys.executable, "-m", "service.cli.main"]


def _run_into_closed_pipe(*argv: str, unbuffered: bool) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:  # each write meets EPIPE itself, rather than the final flush
        env["PYTHONUNBUFFERED"] = "1"
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line is written
    try:
        return subprocess.run(
            [*COMMAND, *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize(
    "argv",
    [("samples",), ("evaluate", "ms-acute-lbp"), ("evaluate", "ms-acute-lbp", "--json")],
    ids=["samples", "evaluate", "evaluate-json"],
)
def test_a_closed_pipe_ends_the_command_quietly(argv, unbuffered):
    done = _run_into_closed_pipe(*argv, unbuffered=unbuffered)
    assert done.stderr.decode() == ""
    assert done.returncode == 141


def test_help_into_a_closed_pipe_is_quiet_too():
    # argparse prints the help and exits 0 itself; unbuffered, it also swallows the write error.
    buffered = _run_into_closed_pipe("--help", unbuffered=False)
    assert (buffered.returncode, buffered.stderr.decode()) == (141, "")
    unbuffered = _run_into_closed_pipe("--help", unbuffered=True)
    assert unbuffered.returncode in (0, 141) and unbuffered.stderr.decode() == ""


def test_an_open_pipe_still_gets_everything():
    done = subprocess.run(
        [*COMMAND, "samples"], capture_output=True, cwd=ROOT, timeout=120, check=False
    )
    assert done.returncode == 0 and done.stderr == b""
    lines = done.stdout.decode().splitlines()
    assert lines[0] == "Sample patients (evaluate NAME):"
    assert len(lines) == 2 + len(list_samples()) + len(list_orders())
    assert lines[-1].split()[0] == list_orders()[-1].name
