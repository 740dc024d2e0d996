"""Integer shares of a total: exact group counts from fractions."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def quota_split(total: int, fractions: Mapping[str, float], rng: np.random.Generator | None = None) -> dict[str, int]:
    """Split ``total`` into integer counts by ``fractions`` (largest remainder).

    Fractions are normalised to sum 1 (all zero: equal shares). Ties between equal
    remainders go by order, or in a random order drawn from ``rng`` when one is given
    (so no group is favoured systematically, round after round).

    >>> quota_split(10, {"A": 0.9, "B": 0.1})
    {'A': 9, 'B': 1}
    >>> quota_split(5, {"A": 1.0, "B": 1.0})
    {'A': 3, 'B': 2}
    """
    names = list(fractions)
    share = np.array([fractions[g] for g in names], dtype=float)
    share = share / share.sum() if share.sum() > 0 else np.full(len(names), 1.0 / len(names))
    raw = share * total
    counts = np.floor(raw).astype(int)
    order = np.arange(len(names)) if rng is None else rng.permutation(len(names))
    for i in order[np.argsort(-(raw - counts)[order], kind="stable")][: total - counts.sum()]:
        counts[i] += 1
    return {g: int(c) for g, c in zip(names, counts, strict=True)}
