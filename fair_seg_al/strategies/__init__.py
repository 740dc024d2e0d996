"""Acquisition strategies (config group ``strategy``)."""

from fair_seg_al.strategies.base import SelectionContext, Strategy, voxel_entropy
from fair_seg_al.strategies.entropy import EntropyStrategy, MaskedEntropyStrategy, WeightedEntropyStrategy
from fair_seg_al.strategies.random_sampling import RandomStrategy, StratifiedRandomStrategy

__all__ = [
    "EntropyStrategy",
    "MaskedEntropyStrategy",
    "RandomStrategy",
    "SelectionContext",
    "Strategy",
    "StratifiedRandomStrategy",
    "WeightedEntropyStrategy",
    "voxel_entropy",
]
