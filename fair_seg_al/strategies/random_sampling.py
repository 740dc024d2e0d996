"""Random baselines: uniform, and group-stratified (the baseline reviewers expect)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from fair_seg_al.strategies.base import Strategy


class RandomStrategy(Strategy):
    """Uniform sampling without replacement from the unlabeled pool."""

    name = "random"
    uses_model = False

    def score(self, probs: torch.Tensor) -> torch.Tensor:
        return torch.full((probs.shape[0],), float("nan"))

    def select(self, scores: np.ndarray, groups: Sequence[str], budget: int, rng: np.random.Generator) -> np.ndarray:
        return rng.permutation(len(groups))[:budget]


class StratifiedRandomStrategy(RandomStrategy):
    """Random, with each batch split evenly across groups.

    Each group gets ``budget // G`` images, the remainder going to randomly chosen groups;
    a group with too few unlabeled images gives its unused quota to the others.
    """

    name = "stratified_random"

    def select(self, scores: np.ndarray, groups: Sequence[str], budget: int, rng: np.random.Generator) -> np.ndarray:
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
