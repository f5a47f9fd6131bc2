"""Every shell command in README.md and docs/*.md works as written, run or checked here.

Taken from the docs: fenced `bash`/`sh` blocks, and inline code spans in prose that start with a
command (`curl ...`, `ms-backpain-cds ...`, `bash scripts/...`, `docker ...`) and have arguments.
A block or span right after `<!-- not-run: REASON -->` (a browser, docker, your own files) is
skipped (before a span, put the comment mid-line: one that starts a line opens an HTML block,
which would swallow the rest of the line); anything else must pass its check:

- `ms-backpain-cds evaluate|samples`: run, exit 0. `serve`: run up to the point where it would
  listen (the settings the docs give must load and be accepted). `load-samples`, `report`: their
  options must parse.
- `curl` to the local service (`127.0.0.1:8000` or `localhost:8000`): sent, with its method,
  headers and body, to the app as the docs started it (demo mode, what `bash scripts/serve`
  runs; with auth off too when its block or paragraph says `MSCDS_AUTH=off`): a 2xx answer, and
  for a CORS preflight the `Origin` allowed.
- `bash scripts/X`, `.venv/bin/python FILE`, `-m pytest PATHS`: the files exist; a script's
  `--options` appear in its `--help`. `export`/`VAR=value`: an `MSCDS_` name is a setting.
- Usage brackets (`[--since DAY]`) are read as the options they name.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from service.cli import main as cli
from service.config import Settings
from service.http import shutdown
from service.http.app import create_app

ROOT = Path(__file__).parents[3]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^( *)```(\w*)[^\n]*\n(.*?)^\1```", re.S | re.M)
NOT_RUN = re.compile(r"<!--\s*not-run:\s*([^>]*?)\s*-->\s*$")
INLINE = re.compile(r"`([^`]+)`")
COMMAND_WORDS = ("curl", "docker", "bash", "ms-backpain-cds", "python3", ".venv/bin/")
ASSIGNMENT = re.compile(r"[A-Z_][A-Z0-9_]*=\S*")
LOCAL_SERVICE = {"127.0.0.1:8000", "localhost:8000"}
CLI = {"ms-backpain-cds", ".venv/bin/ms-backpain-cds"}
ENV_NOT_SETTINGS = {"MSCDS_LOAD_TOKEN"}  # read by load-samples, not by the service


@dataclass(frozen=True)
class Snippet:
    where: str  # file:line
    text: str
    context: str  # its block, or the paragraph around an inline span
    not_run: str | None
    inline: bool = False  # a span in prose: names a command, without the set-up around it


def _line(text: str, at: int) -> int:
    return text.count("\n", 0, at) + 1


def _marker(before: str) -> str | None:
    found = NOT_RUN.search(before.rstrip())
    return found.group(1) if found else None


def _is_command(span: str) -> bool:
    words = span.split()
    while words and ASSIGNMENT.fullmatch(words[0]):
        words.pop(0)
    return len(words) > 1 and words[0].startswith(COMMAND_WORDS)


def snippets() -> Iterator[Snippet]:
    for path in DOCS:
        text = path.read_text()
        name = path.relative_to(ROOT)
        prose = text
        for block in FENCE.finditer(text):
            prose = prose.replace(block.group(0), "\n" * block.group(0).count("\n"), 1)
            if block.group(2) in SHELL:
                body = block.group(3)
                yield Snippet(
                    f"{name}:{_line(text, block.start())}",
                    body,
                    body,
                    _marker(text[: block.start()]),
                )
        for span in INLINE.finditer(prose):
            code = " ".join(span.group(1).split())
            if not _is_command(code):
                continue
            start = prose.rfind("\n\n", 0, span.start()) + 1
            end = prose.find("\n\n", span.end())
            paragraph = prose[start : end if end >= 0 else None]
            yield Snippet(
                f"{name}:{_line(prose, span.start())}",
                code,
                paragraph,
                _marker(prose[start : span.start()]),
                inline=True,
            )


# --- splitting a snippet into commands ----------------------------------------------------------


def logical_lines(text: str) -> Iterator[str]:
    """Lines with `\\` continuations joined and quotes closed (an export may span lines)."""
    pending = ""
    for raw in text.replace("\\\n", " ").splitlines():
        pending = f"{pending}\n{raw}" if pending else raw
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # a quote still open: the next line continues it
            continue
        if pending.strip():
            yield pending
        pending = ""
    assert not pending, f"unclosed quote in {pending!r}"


def commands(text: str) -> Iterator[tuple[dict[str, str], list[str]]]:
    """(the variables it assigns, argv) for each command, pipe stage and `&&` part."""
    exported: dict[str, str] = {}
    for line in logical_lines(text):
        lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;")
        lexer.whitespace_split = True
        part: list[str] = []
        usage = False  # inside usage brackets: `[--since DAY]`
        for token in [*lexer, ";"]:
            if token not in ("|", "||", "&&", ";"):
                if token.startswith("[-"):
                    token, usage = token[1:], True
                if usage and token.endswith("]"):
                    token, usage = token[:-1], False
                part.append(token)
                continue
            argv = [t for t in part if t]
            part = []
            env = dict(exported)
            if argv[:1] == ["export"]:
                exported.update(a.split("=", 1) for a in argv[1:])  # type: ignore[misc]
                env.update(exported)
                argv = []
            while argv and ASSIGNMENT.fullmatch(argv[0]):
                key, value = argv.pop(0).split("=", 1)
                env[key] = value
            yield env, argv


# --- the checks -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TestClient]]:
    """The local service as the docs start it: demo mode, and demo mode with auth off."""
    clients: dict[str, TestClient] = {}
    for mode, auth in (("demo", "jwt"), ("auth-off", "off")):
        settings = Settings(data_dir=tmp_path_factory.mktemp(mode), demo=True, auth=auth)
        clients[mode] = TestClient(create_app(settings), base_url="http://127.0.0.1:8000")
        clients[mode].__enter__()
    yield clients
    for client in clients.values():
        client.__exit__(None, None, None)


def check_env(env: dict[str, str]) -> None:
    for name in env:
        if name.startswith("MSCDS_") and name not in ENV_NOT_SETTINGS:
            assert name.removeprefix("MSCDS_").lower() in Settings.model_fields, name


def check_cli(
    args: list[str],
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *,
    inline: bool,
) -> None:
    parsed: list[Any] = []
    monkeypatch.setattr(cli, "_load_samples", lambda a: parsed.append(a) or 0)
    monkeypatch.setattr(cli, "_report", lambda a: parsed.append(a) or 0)
    if inline:  # `serve` named in prose: its configuration is set elsewhere, only parse it
        monkeypatch.setattr(cli, "_serve", lambda a: parsed.append(a) or 0)
    monkeypatch.setattr(shutdown, "run", lambda *a, **k: parsed.append(a))  # serve: no listening
    monkeypatch.setenv("MSCDS_DATA_DIR", str(tmp_path))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(ROOT)
    code = cli.main(args)
    assert code == 0, args
    if args[0] in ("serve", "load-samples", "report"):
        assert parsed, args


def check_curl(argv: list[str], context: str, services: dict[str, TestClient]) -> None:
    method, headers, data, url = "GET", {}, None, None
    options = iter(argv[1:])
    for arg in options:
        if arg == "-X":
            method = next(options)
        elif arg == "-H":
            key, _, value = next(options).partition(":")
            headers[key.strip()] = value.strip()
        elif arg == "-d":
            data = next(options)
        elif arg in ("-o", "-D", "-w"):
            next(options)
        elif arg.startswith("-"):
            assert arg in ("-s", "-S", "-i", "-f", "-sS"), f"curl option {arg} not checked here"
        else:
            url = arg
    assert url, argv
    parts = urlsplit(url)
    assert parts.netloc in LOCAL_SERVICE, f"{url} is not the local service: mark it not-run"
    if data is not None and data.startswith("@"):
        body: bytes | None = (ROOT / data[1:]).read_bytes()
        method = method if "-X" in argv else "POST"
    else:
        body = data.encode() if data is not None else None
    client = services["auth-off" if "MSCDS_AUTH=off" in context else "demo"]
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    response = client.request(method, target, headers=headers, content=body)
    assert 200 <= response.status_code < 300, (method, url, response.status_code, response.text)
    if method == "OPTIONS" and "Origin" in headers:
        assert response.headers["access-control-allow-origin"] == headers["Origin"]


@cache
def script_help(script: str) -> str:
    done = subprocess.run(
        [sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (script, done.stderr[-500:])
    return done.stdout


def check_python(args: list[str]) -> None:
    if args[:2] == ["-m", "pytest"]:
        for arg in args[2:]:
            if not arg.startswith("-"):
                assert (ROOT / arg.split("::")[0]).exists(), arg
        return
    if args[:2] == ["-m", "json.tool"]:
        return
    script = args[0]
    assert (ROOT / script).is_file(), script
    for option in (a for a in args[1:] if a.startswith("--")):
        assert option in script_help(script), f"{script} has no {option}"


def check(
    snippet: Snippet,
    services: dict[str, TestClient],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> int:
    checked = 0
    for env, argv in commands(snippet.text):
        check_env(env)
        if not argv:
            continue
        program = argv[0]
        if program in CLI:
            check_cli(argv[1:], env, monkeypatch, tmp_path, inline=snippet.inline)
        elif program == "curl":
            check_curl(argv, snippet.context, services)
        elif program == "bash":
            assert (ROOT / argv[1]).is_file(), argv
        elif program == ".venv/bin/python":
            check_python(argv[1:])
        elif program.startswith(".venv/bin/"):
            assert shutil.which(program.removeprefix(".venv/bin/"), path=ROOT / ".venv/bin")
            urls = [a for a in argv if a.startswith("http")]
            for url in urls:  # e.g. schemathesis run URL: the route answers
                check_curl(["curl", url], snippet.context, services)
        elif program in ("python3", "head"):
            assert shutil.which(program), program
        else:
            pytest.fail(f"{snippet.where}: no check for {program!r}; add one or mark it not-run")
        checked += 1
    return checked


SNIPPETS = list(snippets())


def test_the_docs_have_commands_to_check() -> None:
    names = {s.where.split(":")[0] for s in SNIPPETS}
    assert {"README.md", "docs/sandbox.md"} <= names
    assert sum(s.not_run is None for s in SNIPPETS) >= 20


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda s: s.where)
def test_the_command_works_as_written(
    snippet: Snippet,
    services: dict[str, TestClient],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    if snippet.not_run is not None:
        assert snippet.not_run, f"{snippet.where}: say why it is not run"
        pytest.skip(f"not run: {snippet.not_run}")
    assert check(snippet, services, monkeypatch, tmp_path) > 0, snippet.text


def test_discovery_answers_401_to_a_plain_curl_in_demo_mode(
    services: dict[str, TestClient],
) -> None:
    # Why docs/sandbox.md no longer starts troubleshooting with `curl .../cds-services`.
    assert services["demo"].get("/cds-services").status_code == 401
    assert services["auth-off"].get("/cds-services").status_code == 200


@pytest.mark.parametrize(
    "text",
    [
        "curl -s http://127.0.0.1:8000/cds-services",  # demo mode: 401 without the Sandbox's JWT
        "curl -s http://localhost:8080/fhir/metadata",  # not the local service
        ".venv/bin/ms-backpain-cds evaluate patient-bundle.json",  # no such file
        ".venv/bin/ms-backpain-cds evaluate ms-spasticity --no-such-option",
        ".venv/bin/python bench/run.py --no-such-option",
        "MSCDS_NO_SUCH_SETTING=1 bash scripts/serve",
        "docker compose up",  # not run here, and not marked
    ],
)
def test_the_checks_refuse_what_would_not_work(
    text: str, services: dict[str, TestClient], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises((AssertionError, SystemExit, pytest.fail.Exception)):
        check(Snippet("example", text, text, None), services, monkeypatch, tmp_path)
