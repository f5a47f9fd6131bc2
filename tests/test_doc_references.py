"""Every file, folder and link the docs name exists: a reader can follow each one.

Read from README.md, docs/*.md and mappings/README.md: relative Markdown links (the file, and the
heading when the link names one) and every path that starts at a top folder of the repository
(`bench/run.py`, `mappings/data/context.csv`, `deploy/kubernetes/`, `service/*.py`). Files the
project writes at run time are listed in GENERATED.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "mappings" / "README.md"]
TOP = ("bench", "cards", "deploy", "docs", "examples", "mappings", "scripts", "service", "tests")
# A path from a top folder: letters, digits, `_ . - * /`; not inside a longer word or URL.
PATH = re.compile(r"(?<![\w./:@-])((?:" + "|".join(map(re.escape, TOP)) + r")/[\w.*/-]*)")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
GENERATED = {"bench/results/"}  # bench/run.py writes it (git-ignored)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    seen: Counter[str] = Counter()
    out = set()
    in_fence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        heading = None if in_fence else re.match(r"#{1,6}\s+(.*)", line)
        if heading:
            slug = _slug(heading.group(1))
            out.add(slug if not seen[slug] else f"{slug}-{seen[slug]}")
            seen[slug] += 1
    return out


def _references(doc: Path) -> list[tuple[int, str, str]]:
    """(line, kind, reference) for each link and repository path in `doc`."""
    found = []
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
        for link in LINK.finditer(line):
            target = link.group(1)
            if not re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                found.append((number, "link", target))
        for path in PATH.finditer(line):
            ref = path.group(1).rstrip(".,")
            if re.match(r"[{<]", line[path.end() : path.end() + 1]):  # a template: <time>, {id}
                continue
            before, after = line[path.start() - 1 : path.start()], line[path.end() : path.end() + 1]
            quoted = before == "`" == after
            # prose such as "service/floor" is a ratio, not a path: a file has an extension, a
            # folder a trailing slash, or the path is a code span of its own
            if quoted or ref.endswith("/") or re.search(r"\.\w+$", ref):
                found.append((number, "path", ref))
    return found


CASES = [
    pytest.param(doc, number, kind, ref, id=f"{doc.relative_to(ROOT)}:{number}:{ref}")
    for doc in DOCS
    for number, kind, ref in _references(doc)
]


def test_the_docs_name_paths():
    """The pattern finds what it should (else the test below would pass on nothing)."""
    kinds = Counter(kind for _, _, kind, _ in (c.values for c in CASES))
    assert kinds["link"] > 20 and kinds["path"] > 100, kinds


@pytest.mark.parametrize(("doc", "number", "kind", "ref"), CASES)
def test_each_reference_exists(doc: Path, number: int, kind: str, ref: str):
    if kind == "link":
        name, _, anchor = ref.partition("#")
        target = (doc.parent / name).resolve() if name else doc
        assert target.exists(), f"{ref}: no such file"
        if anchor and target.suffix == ".md":
            assert anchor in _anchors(target), f"{ref}: no such heading in {name or doc.name}"
        return
    if ref in GENERATED:
        return
    if "*" in ref:
        assert list(ROOT.glob(ref)), f"{ref}: matches nothing"
    else:
        assert (ROOT / ref).exists(), f"{ref}: no such file or folder"
