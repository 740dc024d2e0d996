"""Random baselines: uniform, group-stratified (the baseline reviewers expect), and the
composition-only control (random within groups, group counts by shortfall)."""

from __future__ import annotations

import numpy as np
import torch

from fair_seg_al.strategies.base import SelectionContext, Strategy
from fair_seg_al.strategies.composition import Shortfall


class RandomStrategy(Strategy):
    """Uniform sampling without replacement from the unlabeled pool."""

    name = "random"
    uses_model = False

    def score(self, probs: torch.Tensor) -> torch.Tensor:
        return torch.full((probs.shape[0],), float("nan"))

    def select(self, scores, groups, budget, rng, ctx=None) -> np.ndarray:
        return rng.permutation(len(groups))[:budget]


class StratifiedRandomStrategy(RandomStrategy):
    """Random, with each batch split evenly across groups.

    Each group gets ``budget // G`` images, the remainder going to randomly chosen groups;
    a group with too few unlabeled images gives its unused quota to the others.
    """

    name = "stratified_random"

    def select(self, scores, groups, budget, rng, ctx=None) -> np.ndarray:
        groups = np.asarray(groups)
        names = sorted(set(groups.tolist()))
        members = {g: rng.permutation(np.flatnonzero(groups == g)) for g in names}
        quota = dict.fromkeys(names, budget // len(names))
        for g in rng.permutation(names)[: budget % len(names)]:
            quota[str(g)] += 1
        # hand over the quota of groups that run out, to groups that still have images
        while True:
            spare = sum(max(0, quota[g] - len(members[g])) for g in names)
            if spare == 0:
                break
            for g in names:
                quota[g] = min(quota[g], len(members[g]))
            open_groups = [g for g in names if quota[g] < len(members[g])]
            if not open_groups:
                break
            for i in range(spare):
                quota[open_groups[i % len(open_groups)]] += 1
        picked = np.concatenate([members[g][: quota[g]] for g in names])
        return rng.permutation(picked)


class CompositionControlStrategy(RandomStrategy):
    """The composition-only control: each group's share of the batch follows its shortfall
    against equal labeled counts, images drawn at random within a group.

    It knows nothing of any group's performance. A fairness-aware rule that does no better
    than this control gains nothing from its performance estimates, only from the group mix
    it happens to acquire.
    """

    name = "composition_control"

    def select(self, scores, groups, budget, rng, ctx: SelectionContext | None = None) -> np.ndarray:
        counts = dict(ctx.labeled_counts) if ctx is not None else {}
        return Shortfall().compose(rng.random(len(groups)), groups, budget, rng, labeled_counts=counts)
