"""The installed package never reaches into a source checkout (issue 33).

A module under ``fair_seg_al/`` (or ``hydra_plugins/``, also installed) that builds a path to
this repository's ``docs/`` or climbs from its own file to the repository root works in a
checkout and breaks in an installed wheel (there is no ``docs/`` three folders above
``site-packages/fair_seg_al/analysis/``). This project's own
studies live in ``sweeps/studies/`` (not installed) and take the root from their own location.

The check reads each module's source text with two regular expressions:

- ``DOCS_PATH``: a string literal that *is* ``"docs"`` or *starts with* ``"docs/"`` (what
  ``root / "docs" / ...``, ``Path("docs/...")`` or ``os.path.join(x, "docs")`` need). A docstring
  or comment that mentions ``docs/guide.md`` in prose is not matched: there the quote does not
  directly precede ``docs``.
- ``CLIMB``: ``Path(__file__)`` (``.resolve()`` or not) followed by ``.parents[k]`` or by ``k + 1``
  chained ``.parent``, where ``k`` reaches the folder above the package from that file (e.g.
  ``parents[2]`` in ``fair_seg_al/analysis/x.py``; ``parents[1]`` there is the package itself,
  which is allowed).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: what the wheel installs (pyproject's packages.find: fair_seg_al*, hydra_plugins*)
INSTALLED = [ROOT / "fair_seg_al", ROOT / "hydra_plugins"]

DOCS_PATH = re.compile(r"""(?<![\w'"])[rbfu]?(['"])docs(?:\1|/)""", re.IGNORECASE)
CLIMB = re.compile(r"Path\(__file__\)(?:\.resolve\(\))?(?:\.parents\[(\d+)\]|((?:\.parent\b)+))")


def offences(text: str, depth: int) -> list[str]:
    """The lines of ``text`` (a module ``depth`` folders below the package's parent: 1 for
    ``fair_seg_al/x.py``, 2 for ``fair_seg_al/analysis/x.py``) that build a path to docs/ or
    climb to the repository root."""
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        if DOCS_PATH.search(line):
            found.append(f"{n}: path to docs/: {line.strip()}")
        for m in CLIMB.finditer(line):
            up = int(m.group(1)) if m.group(1) is not None else m.group(2).count(".parent") - 1
            if up >= depth:  # parents[depth - 1] is fair_seg_al/ itself; parents[depth] is above it
                found.append(f"{n}: climbs out of the package (to {'../' * (up - depth + 1)}): {line.strip()}")
    return found


def test_the_check_catches_the_old_idioms():
    """The expressions catch what the studies did inside the package before the move, and not
    prose or the package's own folder."""
    old = [
        "REPO = Path(__file__).resolve().parents[2]",
        'RUNS = REPO / "docs" / "replication" / "runs"',
        "OUT = Path('docs/recommendation.md')",
        "ROOT = Path(__file__).parent.parent.parent",
    ]
    assert all(offences(line, depth=2) for line in old), [line for line in old if not offences(line, depth=2)]
    fine = [
        "PACKAGE_DIR = Path(__file__).resolve().parents[1]",  # fair_seg_al/ itself, from fair_seg_al/utils/x.py
        "HERE = Path(__file__).parent",
        "    serves both, about 10x faster (docs/benchmarks.md).",
        '"""Rebuild ``docs/estimators/table.md`` from the runs."""',
        'parser.add_argument("dest", help="where the files go, e.g. docs/replication/runs/x")',
        '"documents"',
    ]
    assert not any(offences(line, depth=2) for line in fine), [line for line in fine if offences(line, depth=2)]


def test_no_module_of_the_package_reaches_into_a_checkout():
    found = {}
    for path in sorted(p for package in INSTALLED for p in package.rglob("*.py")):
        depth = len(path.relative_to(ROOT).parts) - 1
        if hits := offences(path.read_text(encoding="utf-8"), depth):
            found[str(path.relative_to(ROOT))] = hits
    assert not found, "modules of the installed package that reach into a source checkout: " + repr(found)
