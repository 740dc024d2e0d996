"""How well does the current model segment each group? Estimators, swappable by config."""

from fair_seg_al.estimation.base import (
    EstimationInputs,
    GroupEstimate,
    GroupPerformanceEstimator,
    LabeledImage,
    Measurement,
    Prediction,
    apply_small_group_rule,
    holdout_owner,
)
from fair_seg_al.estimation.estimators import (
    HoldoutEstimator,
    KFoldEstimator,
    OracleEstimator,
    PrequentialEstimator,
    TrainSetEstimator,
    stratified_folds,
)
from fair_seg_al.estimation.label_free import (
    AgreementEstimator,
    QualityRegressorEstimator,
    RCAEstimator,
)

__all__ = [
    "AgreementEstimator",
    "EstimationInputs",
    "GroupEstimate",
    "GroupPerformanceEstimator",
    "HoldoutEstimator",
    "KFoldEstimator",
    "LabeledImage",
    "Measurement",
    "OracleEstimator",
    "Prediction",
    "PrequentialEstimator",
    "QualityRegressorEstimator",
    "RCAEstimator",
    "TrainSetEstimator",
    "apply_small_group_rule",
    "holdout_owner",
    "stratified_folds",
]
