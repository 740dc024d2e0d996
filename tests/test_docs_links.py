"""Links between the docs resolve: the file exists and, with a #fragment, so does the heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.

    >>> slug("Anatomies cell: the question (plan, 2026-12-04)")
    'anatomies-cell-the-question-plan-2026-12-04'
    """
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_slug_by_hand():
    assert slug("Several real anatomies (`cohort=anatomies`)") == "several-real-anatomies-cohortanatomies"
    assert slug("The anatomies cell (issue #20): six brains") == "the-anatomies-cell-issue-20-six-brains"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_and_their_anchors_resolve(page):
    broken = []
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # code blocks hold no links
    for target, fragment in re.findall(r"\]\((?!https?:|mailto:)([^)#\s]*)(?:#([^)\s]+))?\)", text):
        path = (page.parent / target) if target else page
        if not path.exists():
            broken.append(f"{target} (no such file)")
        elif fragment and path.suffix == ".md":
            headings = {slug(h) for h in re.findall(r"^#+ (.*)$", path.read_text(), flags=re.M)}
            if fragment not in headings:
                broken.append(f"{target}#{fragment} (no such heading)")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)
