"""How well does the current model segment each group? Estimators, swappable by config."""

from fair_seg_al.estimation.base import (
    EstimationInputs,
    GroupEstimate,
    GroupPerformanceEstimator,
    Measurement,
    apply_small_group_rule,
)
from fair_seg_al.estimation.estimators import (
    HoldoutEstimator,
    KFoldEstimator,
    OracleEstimator,
    PrequentialEstimator,
    TrainSetEstimator,
    stratified_folds,
)

__all__ = [
    "EstimationInputs",
    "GroupEstimate",
    "GroupPerformanceEstimator",
    "HoldoutEstimator",
    "KFoldEstimator",
    "Measurement",
    "OracleEstimator",
    "PrequentialEstimator",
    "TrainSetEstimator",
    "apply_small_group_rule",
    "stratified_folds",
]
