"""Random baselines: uniform, group-stratified (the baseline reviewers expect), and the
composition-only control (random within groups, group counts by shortfall)."""

from __future__ import annotations

import numpy as np
import torch

from fair_seg_al.strategies.base import SelectionContext, Strategy
from fair_seg_al.strategies.composition import Composition, Stratified


class RandomStrategy(Strategy):
    """Uniform sampling without replacement from the unlabeled pool.

    The random strategies fix their batch composition themselves (:attr:`counts`: ``None`` is
    uniform over the pool; otherwise :class:`~fair_seg_al.strategies.composition.Stratified`
    with that counts rule and random picks within a group), so configuring another composition
    for them is an error, not silently ignored.
    """

    name = "random"
    uses_model = False
    #: how many images per group (a :data:`~fair_seg_al.strategies.composition.GROUP_COUNTS` rule), or None
    counts: str | None = None

    def __init__(self, composition: Composition | None = None) -> None:
        if composition is not None:
            raise ValueError(
                f"{self.name} fixes its own batch composition (counts: {self.counts or 'none, uniform'}); "
                "drop strategy/composition, or use strategy/composition=stratified (within: random) with a scored strategy"
            )
        super().__init__(Stratified(counts=self.counts, within="random") if self.counts else None)

    def score(self, probs: torch.Tensor) -> torch.Tensor:
        return torch.full((probs.shape[0],), float("nan"))

    def select(self, scores, groups, budget, rng, ctx: SelectionContext | None = None) -> np.ndarray:
        if self.counts is None:
            return rng.permutation(len(groups))[:budget]
        return super().select(np.zeros(len(groups)), groups, budget, rng, ctx)


class StratifiedRandomStrategy(RandomStrategy):
    """Random, with each batch split evenly across groups (largest remainder, ties at random);
    a group with too few unlabeled images gives the rest of its share to the others."""

    name = "stratified_random"
    counts = "equal"


class CompositionControlStrategy(RandomStrategy):
    """The composition-only control: each group's share of the batch follows its shortfall
    against equal labeled counts, images drawn at random within a group.

    It knows nothing of any group's performance. A fairness-aware rule that does no better
    than this control gains nothing from its performance estimates, only from the group mix
    it happens to acquire.
    """

    name = "composition_control"
    counts = "shortfall"
