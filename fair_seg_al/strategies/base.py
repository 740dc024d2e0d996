"""The strategy interface: a pure per-image ``score``, group weights, and a batch composition.

The AL loop never checks which strategy it holds: it asks what the strategy needs
(``uses_model``: score the pool with the current network; ``estimator``: a
group-performance estimator whose estimates set the group weights) and calls the same
methods. How the batch is drawn from the scores is the strategy's ``composition``
(:mod:`fair_seg_al.strategies.composition`; top-k unless configured).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from fair_seg_al.strategies.composition import Composition, TopK


@dataclass
class SelectionContext:
    """What the loop knows when it selects: the round, the labeled counts per group and,
    for a group-aware strategy, its estimator's per-group performance estimates."""

    round: int
    group_performance: Mapping[str, float] | None = None
    labeled_counts: Mapping[str, int] = field(default_factory=dict)


class Strategy:
    """Base class. Subclasses override :meth:`score` (and maybe :meth:`image_weights`).

    Args:
        composition: how the batch is drawn from the scores (default top-k).
    """

    name = "base"
    uses_model = True
    #: a group-performance estimator (``strategy/estimator``) for group-aware strategies
    estimator = None

    def __init__(self, composition: Composition | None = None) -> None:
        self.composition = composition if composition is not None else TopK()

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

    def select(
        self,
        scores: np.ndarray,
        groups: Sequence[str],
        budget: int,
        rng: np.random.Generator,
        ctx: SelectionContext | None = None,
    ) -> np.ndarray:
        """Indices (into ``scores``) of the ``budget`` images to label, by the composition rule
        (top-k by default: top scores, ties in seeded random order)."""
        ctx = ctx or SelectionContext(round=0)
        return self.composition.compose(scores, groups, budget, rng, self.group_weights(ctx), dict(ctx.labeled_counts))


def voxel_entropy(probs: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Predictive entropy per voxel, ``-sum_c p_c log p_c`` in nats: ``(B, C, ...) -> (B, ...)``."""
    return -(probs * probs.clamp_min(eps).log()).sum(dim=1)
