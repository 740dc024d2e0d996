"""Integer shares of a total: exact group counts from fractions."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def quota_split(total: int, fractions: Mapping[str, float]) -> dict[str, int]:
    """Split ``total`` into integer counts by ``fractions`` (largest remainder, ties by order).

    >>> quota_split(10, {"A": 0.9, "B": 0.1})
    {'A': 9, 'B': 1}
    """
    names = list(fractions)
    raw = np.array([fractions[g] for g in names], dtype=float) * total
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    return {g: int(c) for g, c in zip(names, counts, strict=True)}
