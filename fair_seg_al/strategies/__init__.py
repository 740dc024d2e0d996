"""Acquisition strategies (config group ``strategy``) and batch composition rules
(``strategy/composition``)."""

from fair_seg_al.strategies.base import SelectionContext, Strategy, voxel_entropy
from fair_seg_al.strategies.composition import (
    Composition,
    Matched,
    Power,
    Quota,
    Shortfall,
    Stratified,
    TemperatureSchedule,
    TopK,
)
from fair_seg_al.strategies.entropy import EntropyStrategy, MaskedEntropyStrategy, WeightedEntropyStrategy
from fair_seg_al.strategies.random_sampling import (
    CompositionControlStrategy,
    RandomStrategy,
    StratifiedRandomStrategy,
)
from fair_seg_al.strategies.uncertainty import MCDropoutStrategy, MultiPassStrategy, PassStatistics, TTAStrategy
from fair_seg_al.strategies.weights import GroupWeighting, group_weights

__all__ = [
    "Composition",
    "CompositionControlStrategy",
    "EntropyStrategy",
    "GroupWeighting",
    "MCDropoutStrategy",
    "MultiPassStrategy",
    "PassStatistics",
    "TTAStrategy",
    "MaskedEntropyStrategy",
    "Matched",
    "Power",
    "Quota",
    "RandomStrategy",
    "SelectionContext",
    "Shortfall",
    "Strategy",
    "Stratified",
    "StratifiedRandomStrategy",
    "TemperatureSchedule",
    "TopK",
    "WeightedEntropyStrategy",
    "group_weights",
    "voxel_entropy",
]
