"""What the benchmark scripts share. They run as ``python benchmarks/<script>.py``, which puts this
folder on ``sys.path``, so they import it as ``_common``."""

from __future__ import annotations

import os

from fair_seg_al.utils.io import atomic_write_text


def write_doc(path: str | os.PathLike | None, lines: list[str]) -> None:
    """Print a benchmark's Markdown (``lines``, each ended by a newline) and write it to ``path``
    (docs/benchmarks/<name>.md, which docs/benchmarks.md is assembled from); None prints only."""
    text = "\n".join(lines) + "\n"
    print(text)
    if path is not None:
        atomic_write_text(path, text)
