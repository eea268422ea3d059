"""Issue 15 item 8: the product cites only what is in the repository.

The team's reference guides and the original article live outside the repository; their content was brought
into docs/ (docs/methodology/cost-model.md §1-14, docs/methodology/market-model.md, docs/article.md). Code,
templates, presets, tests, benchmarks, docs and the README cite those documents, never the guides' names or a
path under the team's shared folder, and every docs/*.md they cite exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = [ROOT / "app", ROOT / "tests", ROOT / "bench", ROOT / "docs", ROOT / "README.md"]
SUFFIXES = {".py", ".html", ".json", ".md", ".js", ".css", ".txt", ".csv", ".toml", ".ini", ".sh"}
# The guides' names (upper-case, so "cost-model.md" in docs/ does not match) and the shared folder.
FORBIDDEN = re.compile(
    r"\b(?:COST-MODEL|MARKET-MODEL|STYLE\.md|UX\.md|SECURITY\.md|RECIPES\.md)|\bshared/|reference-data/"
)
# Tests that themselves assert a guide's name is absent spell the names out; they are checks, not citations.
ALLOWED = {
    Path(__file__).resolve(),
    ROOT / "tests" / "engine" / "market" / "test_issue9_findings.py",
    ROOT / "tests" / "web" / "test_methodology_market.py",
}
SKIPPED_DIRS = {"__pycache__", "vendor", "node_modules"}


def _files() -> list[Path]:
    found: list[Path] = []
    for top in SCANNED:
        paths = [top] if top.is_file() else sorted(top.rglob("*"))
        for path in paths:
            if not path.is_file() or path.suffix not in SUFFIXES or path.resolve() in ALLOWED:
                continue
            if SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts):
                continue
            found.append(path)
    return found


def test_the_scan_sees_the_files_that_used_to_cite_the_guides() -> None:
    seen = {str(p.relative_to(ROOT)) for p in _files()}
    for path in ("app/engine/formulas.py", "app/engine/article.py", "app/data/presets/china-may-2024.json"):
        assert path in seen


def test_nothing_cites_a_guide_outside_the_repository() -> None:
    hits = []
    for path in _files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if FORBIDDEN.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not hits, "cite docs/ instead:\n" + "\n".join(hits)


# The repository's own documents (docs/*.md, docs/methodology/*.md); the serving validation also cites
# a file of NVIDIA's repository (docs/source/performance/...), which this pattern leaves alone.
@pytest.mark.parametrize("pattern", [r"\bdocs/(?:methodology/)?[\w.-]+\.md"])
def test_every_cited_document_exists(pattern: str) -> None:
    missing = []
    for path in _files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for cited in sorted(set(re.findall(pattern, text))):
            if not (ROOT / cited).exists():
                missing.append(f"{path.relative_to(ROOT)} cites {cited}")
    assert not missing, "\n".join(missing)


def test_the_pattern_catches_the_old_citations() -> None:
    for old in (
        "(COST-MODEL §5)",
        "Article: shared/seed/000_be83a90fbadcfea1.txt",
        "the closed-form checks of MARKET-MODEL.md items 2-5",
        "(STYLE.md: units live in names)",
        "copied from shared/reference-data",
        "reference-data/api_prices.csv: GPT-4",
    ):
        assert FORBIDDEN.search(old), old
    assert not FORBIDDEN.search("docs/methodology/cost-model.md §5")
