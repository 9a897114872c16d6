"""The user docs stand alone: every relative link of README.md, CHANGELOG.md and docs/*.md
leads to a file of the repository, and every repository path they name exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])

# [text](target) and [text](target "title"); images too
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
# a path under one of the repository's folders, named in prose or code: `pipelines/cli/run.py`,
# tests/e2e/test_faults.py::test_x (the file is checked), sql/seeds/ (a folder). Not inside a
# URL or another path (no `/` or word character before it).
ROOTS = ("pipelines", "tests", "sql", "docs", "bench", "notebooks", ".dlt", ".ci")
PATH = re.compile(r"(?<![\w/.~-])((?:" + "|".join(re.escape(r) for r in ROOTS) + r")/[\w./-]*)")
# files the docs name that a user or a command makes (git ignores them); their folder must exist
MADE_LATER = {
    ".dlt/secrets.toml",  # the user's, from .dlt/secrets.toml.example
    "bench/results/latest.json",  # written by make bench
    "bench/results/backtest.json",  # written by make backtest
}


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def links(page: Path) -> list[str]:
    return LINK.findall(page.read_text(encoding="utf-8"))


def named_paths(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return sorted({m.rstrip(".,;:") for m in PATH.findall(text)})


def exists(path: str) -> bool:
    if path in MADE_LATER:
        return (ROOT / path).parent.is_dir()
    return (ROOT / path).exists()


def test_the_pages_are_found():
    names = {page_id(p) for p in PAGES}
    assert {"README.md", "CHANGELOG.md", "docs/operations.md", "docs/faults.md"} <= names


def anchors(page: Path) -> set[str]:
    """The anchors GitHub makes of a page's headings: lower case, punctuation dropped,
    spaces as hyphens."""
    found = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*$", line)
        if heading:
            text = heading.group(1).lower()
            found.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return found


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """The relative links of `page` that lead outside `root`, to no file, or to no heading."""
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # https:, mailto:
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        if not path.is_relative_to(root):
            broken.append(f"{target} (outside the repository)")
        elif not path.exists():
            broken.append(target)
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{target} (no such heading)")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_relative_link_leads_to_a_file_of_the_repository(page: Path):
    broken = broken_links(page)
    assert not broken, f"{page_id(page)} has broken links: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_repository_path_named_exists(page: Path):
    missing = [p for p in named_paths(page) if not exists(p)]
    assert not missing, f"{page_id(page)} names paths that do not exist: {missing}"


def test_readme_links_every_docs_page_the_changelog_and_the_license():
    targets = {t.split("#", 1)[0] for t in links(ROOT / "README.md")}
    wanted = {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")}
    wanted |= {"CHANGELOG.md", "LICENSE"}
    assert not wanted - targets, f"README.md does not link {sorted(wanted - targets)}"


def test_the_checks_catch_a_missing_file(tmp_path: Path):
    """The two checks above can fail: a link and a path to nothing are both found."""
    page = tmp_path / "page.md"
    page.write_text(
        "See [the faults](docs/no-such-page.md), [home](https://example.org/docs/x.md) and "
        "`pipelines/no_such_module.py`, but `pipelines/cli/run.py` is there.\n",
        encoding="utf-8",
    )
    assert links(page) == ["docs/no-such-page.md", "https://example.org/docs/x.md"]
    assert broken_links(page, tmp_path) == ["docs/no-such-page.md"]
    assert named_paths(page) == [
        "docs/no-such-page.md",
        "pipelines/cli/run.py",
        "pipelines/no_such_module.py",
    ]
    assert [p for p in named_paths(page) if not exists(p)] == [
        "docs/no-such-page.md",
        "pipelines/no_such_module.py",
    ]


def test_a_link_outside_the_repository_or_to_a_missing_heading_is_broken(tmp_path: Path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## Exit codes\n", encoding="utf-8")
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "[a](other.md#exit-codes) [b](other.md#no-such) [c](../../shared/api.md) [d](#top)\n",
        encoding="utf-8",
    )
    assert broken_links(page, tmp_path) == [
        "other.md#no-such (no such heading)",
        "../../shared/api.md (outside the repository)",
        "#top (no such heading)",
    ]
