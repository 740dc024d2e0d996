"""The strategy interface: a pure per-image ``score`` and a ``select`` that picks ids.

The AL loop never checks which strategy it holds: it asks what the strategy needs
(``uses_model``: score the pool with the current network; ``needs_group_performance``:
the current model's per-group Dice on labeled images) and calls the same methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class SelectionContext:
    """What the loop knows when it selects: the round and, if asked for, group performance."""

    round: int
    group_performance: Mapping[str, float] | None = None


class Strategy:
    """Base class. Subclasses override :meth:`score` (and maybe :meth:`image_weights`)."""

    name = "base"
    uses_model = True
    needs_group_performance = False
    #: share of the labeled set kept out of training to estimate group performance on
    performance_holdout = 0.0

    def score(self, probs: torch.Tensor) -> torch.Tensor:
        """Informativeness of each image.

        Args:
            probs: softmax probabilities ``(B, C, X, Y, Z)``.

        Returns:
            ``(B,)`` scores; higher is picked first.
        """
        raise NotImplementedError

    def image_weights(self, groups: Sequence[str], ctx: SelectionContext) -> np.ndarray:
        """Multiplier of each image's score (1 unless a strategy reweights groups)."""
        return np.ones(len(groups))

    def group_weights(self, ctx: SelectionContext) -> dict[str, float] | None:
        """Per-group weights to log this round (None if the strategy has none)."""
        return None

    def select(self, scores: np.ndarray, groups: Sequence[str], budget: int, rng: np.random.Generator) -> np.ndarray:
        """Indices (into ``scores``) of the ``budget`` images to label: top scores, ties in seeded random order."""
        scores = np.asarray(scores, dtype=float)
        order = np.lexsort((rng.random(len(scores)), -scores))
        return order[:budget]


def voxel_entropy(probs: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Predictive entropy per voxel, ``-sum_c p_c log p_c`` in nats: ``(B, C, ...) -> (B, ...)``."""
    return -(probs * probs.clamp_min(eps).log()).sum(dim=1)
