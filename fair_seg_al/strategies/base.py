"""The strategy interface: a pure per-image ``score``, group weights, and a batch composition.

The AL loop never checks which strategy it holds: it asks what the strategy needs
(``uses_model``: score the pool with the current network; ``estimator``: a
group-performance estimator whose estimates set the group weights; ``needs_dropout``: a
network with dropout) and calls the same methods. How the batch is drawn from the scores is the strategy's ``composition``
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
    #: keep the scores of the last model seen (worth it for strategies with several passes per image)
    caches_scores = False
    #: the network must have dropout (``model.net.dropout > 0``): checked with the config, before training
    needs_dropout = False

    def __init__(self, composition: Composition | None = None) -> None:
        self.composition = composition if composition is not None else TopK()
        self._cache: tuple[str, dict[str, float]] | None = None

    def score(self, probs: torch.Tensor) -> torch.Tensor:
        """Informativeness of each image.

        Args:
            probs: softmax probabilities ``(B, C, X, Y, Z)``.

        Returns:
            ``(B,)`` scores; higher is picked first.
        """
        raise NotImplementedError

    def score_batch(self, module: torch.nn.Module, images: torch.Tensor, ids: Sequence[str]) -> torch.Tensor:
        """Scores ``(B,)`` of a batch of images: one forward pass, unless a strategy needs more."""
        return self.score(module.probabilities(images))

    def cached_scores(self, model_key: str, ids: Sequence[str]) -> np.ndarray | None:
        """Scores computed earlier for these images by the same model (None if any is missing)."""
        if self._cache is None or self._cache[0] != model_key:
            return None
        known = self._cache[1]
        return np.array([known[i] for i in ids]) if all(i in known for i in ids) else None

    def remember(self, model_key: str, ids: Sequence[str], scores: np.ndarray) -> None:
        """Keep ``scores`` of ``ids`` under ``model_key`` (a new key forgets the old model's)."""
        if self._cache is None or self._cache[0] != model_key:
            self._cache = (model_key, {})
        self._cache[1].update(zip(ids, (float(s) for s in scores), strict=True))

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
        return self.composition.compose(
            scores, groups, budget, rng, self.group_weights(ctx), dict(ctx.labeled_counts), round=ctx.round
        )


def voxel_entropy(probs: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Predictive entropy per voxel, ``-sum_c p_c log p_c`` in nats: ``(B, C, ...) -> (B, ...)``."""
    return -(probs * probs.clamp_min(eps).log()).sum(dim=1)
