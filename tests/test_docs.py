"""The README and docs/ work for someone who clones the repository: every
relative link points at a file of the checkout (and a heading that exists),
and nothing refers to files outside it."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$", re.M)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"^(```|    ).*$", "", page.read_text(), flags=re.M)  # no headings in code
    return {slug(h) for h in _HEADING.findall(text)}


def test_docs_exist():
    names = {p.name for p in PAGES}
    assert {"README.md", "events.md", "api.md", "configuration.md", "pbx.md"} <= names
    assert sorted(p.name for p in (ROOT / "docs" / "examples").glob("*.json")) == [
        "caller-hung-up.json", "missed-external-direct.json", "missed-internal.json", "voicemail.json"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page):
    broken = []
    for target in _LINK.findall(page.read_text()):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists() or ROOT not in (file, *file.parents):
            broken.append(target)
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(target)
    assert broken == []


def test_nothing_refers_outside_the_checkout():
    """The contract used to live in ../shared beside the checkout; docs/ is its home now."""
    found = subprocess.run(["git", "grep", "-n", "-I", "-e", "shared/contract", "-e", "../shared",
                            "--", ".", ":!tests/test_docs.py"],
                           cwd=ROOT, capture_output=True, text=True)
    assert (found.returncode, found.stdout) == (1, "")  # 1: git grep found nothing
