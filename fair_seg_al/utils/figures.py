"""Figures written the way every output is: laid out, saved atomically as PNG, closed."""

from __future__ import annotations

import os
from pathlib import Path

from fair_seg_al.utils.io import atomic_path


def save_png(fig, path: str | os.PathLike, dpi: int = 110, crop: bool = False) -> Path:
    """``tight_layout``, write ``fig`` to ``path`` atomically (a reader never sees half a file),
    close it; returns the path. ``crop``: fit the saved image to what was drawn (long tick
    labels that ``tight_layout`` leaves cut)."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", bbox_inches="tight" if crop else None)
    plt.close(fig)
    return path
