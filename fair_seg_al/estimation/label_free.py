"""Label-free group-performance estimators: the predicted Dice of unlabeled pool images.

The label-based estimators (:mod:`fair_seg_al.estimation.estimators`) measure Dice on the few
labeled images of each group, and their sampling noise is what limits them. These read the
unlabeled pool, hundreds of images per group, and *predict* each image's Dice from the
model's prediction alone; labeled images only calibrate. They trade that noise for the bias
of the prediction.

=====================  ===============================================  ===========================
name                   predicted Dice of a pool image                   follows
=====================  ===============================================  ===========================
``agreement``          the model's agreement with itself: soft Dice of  Roy et al. 2019; Jungo &
                       its hard prediction against its probabilities,   Reyes 2019
                       or mean pairwise Dice of MC-dropout / TTA
                       passes (optionally mapped to Dice by a line
                       fitted on the labeled images)
``rca``                reverse classification accuracy: the prediction  Valindria et al. 2017
                       as an atlas, propagated to labeled reference
                       images and scored against their labels; the
                       best Dice over the references
``quality_regressor``  a ridge regression of Dice on features of the    Kohlberger et al. 2012
                       prediction, fitted on the labeled images
=====================  ===============================================  ===========================

Each predicts at most ``max_pool_images`` pool images per group (drawn with the round's seed);
a group's values are those predictions, and the small-group rules turn them into its estimate
as for every estimator. None reads a pool image's label or the test set: the inputs carry no
pool label (``labeled_images`` and ``dice`` refuse unlabeled images).

The target structure is present in every image of the study, so an empty prediction is a miss:
its predicted Dice is :data:`EMPTY_PREDICTION_DICE` (0) however much the model agrees with itself.
Predicted Dice is the project's per-image Dice (:func:`fair_seg_al.metrics.dice_per_case` of
the argmax foreground), the quantity the test Dice measures.

References:
    Roy, Conjeti, Navab, Wachinger. Bayesian QuickNAT: model uncertainty in deep whole-brain
    segmentation for structure-wise quality control. NeuroImage 195, 2019.
    Jungo, Reyes. Assessing reliability and challenges of uncertainty estimations for medical
    image segmentation. MICCAI 2019.
    Valindria et al. Reverse classification accuracy: predicting segmentation performance in the
    absence of ground truth. IEEE TMI 36(8), 2017.
    Kohlberger, Singh, Alvino, Bahlmann, Grady. Evaluating segmentation error without ground
    truth. MICCAI 2012.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from fair_seg_al.estimation.base import EstimationInputs, GroupPerformanceEstimator, Measurement, by_group
from fair_seg_al.metrics import argmax_is, dice_per_case

log = logging.getLogger(__name__)

#: the foreground class (the study's task is binary: class 1 is the structure)
FOREGROUND = 1
#: predicted Dice of a prediction with no foreground (the structure is in every image)
EMPTY_PREDICTION_DICE = 0.0
AGREEMENT_METHODS = ("soft_dice", "mc_dropout", "tta")
QUALITY_FEATURES = ("volume", "soft_dice", "roi_entropy", "boundary_entropy")
REGISTRATIONS = ("none", "translation")


# ---------------------------------------------------------------------- per-image measures
def soft_dice_agreement(probs: torch.Tensor) -> float:
    """Soft Dice of the hard prediction ``P`` against the foreground probabilities ``p``:
    ``2 sum(P p) / (sum P + sum p)``.

    It is the Dice the model expects of its own prediction were its voxel probabilities
    calibrated (a label drawn voxel by voxel from ``p`` overlaps ``P`` by ``sum(P p)`` and has
    ``sum p`` voxels, in expectation). An empty ``P`` gives :data:`EMPTY_PREDICTION_DICE`.

    Args:
        probs: softmax probabilities ``(C, X, Y, Z)``.

    >>> p = torch.tensor([0.8, 0.8, 0.2, 0.2, 0.0])  # P = the two 0.8 voxels
    >>> round(soft_dice_agreement(torch.stack([1 - p, p])), 6)  # 2 * 1.6 / (2 + 2.0)
    0.8
    """
    hard = argmax_is(probs[None], FOREGROUND)[0].float()
    if not hard.any():
        return EMPTY_PREDICTION_DICE
    p = probs[FOREGROUND].float()
    return float(2 * (hard * p).sum() / (hard.sum() + p.sum()))


def mean_pairwise_dice(masks: torch.Tensor) -> float:
    """Mean Dice over every pair of ``T`` pass masks ``(T, X, Y, Z)`` (Roy et al. 2019's
    "Dice agreement in MC samples"); a pair of empty masks counts :data:`EMPTY_PREDICTION_DICE`.
    One pass agrees with itself: 1 (or the empty value).

    >>> a = torch.tensor([1, 1, 0, 0], dtype=torch.bool)
    >>> b = torch.tensor([1, 0, 0, 0], dtype=torch.bool)
    >>> round(mean_pairwise_dice(torch.stack([a, a, b])), 6)  # (1 + 2/3 + 2/3) / 3
    0.777778
    """
    flat = masks.reshape(masks.shape[0], -1).float()
    if flat.shape[0] == 1:
        return 1.0 if flat.any() else EMPTY_PREDICTION_DICE
    i, j = torch.triu_indices(flat.shape[0], flat.shape[0], offset=1)
    dice = dice_per_case(flat[i].bool(), flat[j].bool(), empty=EMPTY_PREDICTION_DICE)
    return float(dice.mean())


def _entropy(probs: torch.Tensor) -> torch.Tensor:
    """Voxel entropy ``-sum_c p_c log p_c`` in nats: ``(C, ...) -> (...)``."""
    return -(probs * probs.clamp_min(1e-12).log()).sum(dim=0)


def _dilate(mask: torch.Tensor) -> torch.Tensor:
    """One-voxel (3x3x3) dilation of a bool mask ``(X, Y, Z)``."""
    return F.max_pool3d(mask[None, None].float(), 3, stride=1, padding=1)[0, 0] > 0


def _erode(mask: torch.Tensor) -> torch.Tensor:
    """One-voxel (3x3x3) erosion of a bool mask ``(X, Y, Z)`` (the volume's edge is not a boundary)."""
    return ~_dilate(~mask)


def _mean_in(values: torch.Tensor, region: torch.Tensor, empty: float) -> float:
    return float(values[region].mean()) if region.any() else empty


def prediction_features(probs: torch.Tensor, names: Sequence[str] = QUALITY_FEATURES) -> np.ndarray:
    """Features of one prediction that a quality regressor maps to Dice (Kohlberger et al. 2012
    regress overlap on such features of the segmentation and image):

    - ``volume``: predicted foreground voxels;
    - ``soft_dice``: :func:`soft_dice_agreement`;
    - ``roi_entropy``: mean voxel entropy (nats) inside the prediction dilated by one voxel, as
      the masked entropy of the study reads uncertainty;
    - ``boundary_entropy``: mean voxel entropy on the prediction's boundary band (dilation less
      erosion), where a segmentation's errors live.

    An empty prediction's entropies are the largest possible, ``log C`` (as masked entropy's
    ``empty_roi="max"``).

    Args:
        probs: softmax probabilities ``(C, X, Y, Z)``.
        names: which features, in order (a subset of :data:`QUALITY_FEATURES`).

    Returns:
        ``(len(names),)`` float array.
    """
    probs = probs.float()
    hard = argmax_is(probs[None], FOREGROUND)[0]
    entropy, most = _entropy(probs), math.log(probs.shape[0])
    dilated = _dilate(hard)
    compute = {
        "volume": lambda: float(hard.sum()),
        "soft_dice": lambda: soft_dice_agreement(probs),
        "roi_entropy": lambda: _mean_in(entropy, dilated, most),
        "boundary_entropy": lambda: _mean_in(entropy, dilated & ~_erode(hard), most),
    }
    return np.array([compute[n]() for n in names], dtype=float)


# ---------------------------------------------------------------------- calibration
@dataclass
class DiceRegression:
    """A linear map from features to Dice, with its leave-one-out errors on the images it was
    fitted on. Predictions are clipped to [0, 1] (Dice's range)."""

    intercept: float
    coef: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    loo_errors: np.ndarray

    def predict(self, features: np.ndarray) -> np.ndarray:
        x = (np.atleast_2d(features) - self.center) / self.scale
        return np.clip(self.intercept + x @ self.coef, 0.0, 1.0)

    @property
    def loo_mae(self) -> float:
        """Mean absolute leave-one-out error (NaN with fewer than two images)."""
        return float(np.abs(self.loo_errors).mean()) if len(self.loo_errors) else float("nan")


def _ridge(x: np.ndarray, y: np.ndarray, ridge: float) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Ridge regression on standardised features, intercept unpenalised (least squares at 0)."""
    center = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)  # a constant feature carries nothing: its coefficient stays 0
    xs = (x - center) / scale
    a = np.vstack([xs, math.sqrt(ridge) * np.eye(x.shape[1])])
    b = np.concatenate([y - y.mean(), np.zeros(x.shape[1])])
    coef = np.linalg.lstsq(a, b, rcond=None)[0]
    return float(y.mean()), coef, center, scale


def fit_dice_regression(features: np.ndarray, dice: np.ndarray, ridge: float = 1.0) -> DiceRegression:
    """Fit Dice ``~ intercept + features`` (standardised, ridge penalty ``ridge`` on the slopes),
    with explicit leave-one-out refits for its errors.

    >>> x = np.array([[0.2], [0.5], [0.9]])
    >>> fit = fit_dice_regression(x, 0.1 + 0.5 * x[:, 0], ridge=0.0)
    >>> round(float(fit.predict(np.array([0.6]))[0]), 6), round(fit.loo_mae, 6)
    (0.4, 0.0)
    """
    x, y = np.asarray(features, dtype=float).reshape(len(dice), -1), np.asarray(dice, dtype=float)
    if len(y) == 0:
        raise ValueError("no labeled image to fit the Dice regression on")
    fitted = DiceRegression(*_ridge(x, y, ridge), loo_errors=np.zeros(0))
    errors = []
    if len(y) >= 2:
        for i in range(len(y)):
            keep = np.arange(len(y)) != i
            loo = DiceRegression(*_ridge(x[keep], y[keep], ridge), loo_errors=np.zeros(0))
            errors.append(float(loo.predict(x[i])[0] - y[i]))
    fitted.loo_errors = np.array(errors)
    return fitted


# ---------------------------------------------------------------------- reverse classification
def shifted(volume: torch.Tensor, offset: Sequence[int]) -> torch.Tensor:
    """``volume`` ``(X, Y, Z)`` moved by ``offset`` voxels, zero-filled (no wrap-around).

    >>> shifted(torch.tensor([[[1, 2, 3]]]), (0, 0, 1)).tolist()
    [[[0, 1, 2]]]
    """
    out = torch.zeros_like(volume)
    source, target = [], []
    for k, n in zip((int(k) for k in offset), volume.shape, strict=True):
        if abs(k) >= n:
            return out
        source.append(slice(max(-k, 0), n - max(k, 0)))
        target.append(slice(max(k, 0), n - max(-k, 0)))
    out[tuple(target)] = volume[tuple(source)]
    return out


def best_translations(moving: torch.Tensor, fixed: torch.Tensor, max_shift: int) -> list[tuple[int, int, int]]:
    """For each of ``R`` fixed images ``(R, X, Y, Z)``, the integer translation (each axis in
    ``[-max_shift, max_shift]``) of ``moving`` ``(X, Y, Z)`` that maximises their correlation
    (both z-scored; ties go to the smallest shift)."""

    def zscore(v: torch.Tensor) -> torch.Tensor:
        v = v.float()
        return (v - v.mean()) / v.std().clamp_min(1e-12)

    fixed_flat = torch.stack([zscore(f) for f in fixed]).reshape(len(fixed), -1)
    moving = zscore(moving)
    offsets = sorted(itertools.product(range(-max_shift, max_shift + 1), repeat=3), key=lambda o: sum(map(abs, o)))
    scores = torch.stack([fixed_flat @ shifted(moving, o).reshape(-1) for o in offsets], dim=1)
    return [offsets[int(k)] for k in scores.argmax(dim=1)]


def reverse_classification_dice(
    image: torch.Tensor,
    pseudo_label: torch.Tensor,
    reference_images: torch.Tensor,
    reference_labels: torch.Tensor,
    max_shift: int | None = None,
) -> float:
    """Reverse classification accuracy with a single-atlas reverse segmenter (Valindria et al.,
    IEEE TMI 2017): the pool image and its predicted mask form an atlas; the atlas is registered
    to each labeled reference image and its mask propagated; the best Dice of a propagated mask
    against its reference's true mask predicts the prediction's Dice.

    Args:
        image: the pool image ``(X, Y, Z)``.
        pseudo_label: its predicted mask ``(X, Y, Z)`` (bool).
        reference_images, reference_labels: ``(R, X, Y, Z)`` labeled images and their masks
            (bool or 0/1 float).
        max_shift: register by the best integer translation up to this many voxels per axis;
            None: no registration (the images share one space).
    """
    if not pseudo_label.any():
        return EMPTY_PREDICTION_DICE
    refs = reference_labels.reshape(len(reference_labels), -1).float()  # a no-op for float labels
    if max_shift is None:  # one mask against every reference: a matrix product
        moved = pseudo_label.reshape(1, -1).float()
        overlap = refs @ moved[0]
    else:
        shifts = best_translations(image, reference_images, max_shift)
        moved = torch.stack([shifted(pseudo_label, s) for s in shifts]).reshape(len(refs), -1).float()
        overlap = (moved * refs).sum(dim=1)
    # the Dice of dice_per_case; a mask moved out of the volume against an empty reference scores 0
    total = moved.sum(dim=1) + refs.sum(dim=1)
    dice = torch.where(total > 0, 2 * overlap / total.clamp_min(1e-12), torch.full_like(total, EMPTY_PREDICTION_DICE))
    return float(dice.max())


# ---------------------------------------------------------------------- estimators
def sample_per_group(
    ids: Sequence[str], group_of: Callable[[str], str], groups: Sequence[str], limit: int | None, seed: int
) -> list[str]:
    """At most ``limit`` ids of each group, drawn without replacement with ``seed`` (None: all),
    in their original order.

    >>> sample_per_group(["a1", "a2", "b1"], lambda s: s[0].upper(), ["A", "B"], None, 0)
    ['a1', 'a2', 'b1']
    """
    if limit is None:
        return list(ids)
    rng = np.random.default_rng(seed)
    keep: set[str] = set()
    for g in groups:
        members = [s for s in ids if group_of(s) == g]
        if len(members) > limit:
            members = [members[i] for i in rng.choice(len(members), size=limit, replace=False)]
        keep.update(members)
    return [s for s in ids if s in keep]


def _need(inputs: EstimationInputs, name: str, *fields: str) -> None:
    missing = [f for f in fields if getattr(inputs, f) is None]
    if missing:
        raise RuntimeError(
            f"{name} needs {', '.join(f'EstimationInputs.{f}' for f in missing)} (the AL callback gives them)"
        )


def _check_limit(key: str, value: int | None) -> None:
    if value is not None and int(value) < 1:
        raise ValueError(f"{key} must be >= 1 or null, got {value}")


class PoolEstimator(GroupPerformanceEstimator):
    """Base of the label-free estimators: the predicted Dice of (a sample of) the unlabeled pool.

    Args:
        max_pool_images: pool images predicted per group and round, drawn with the round's
            seed (null: every pool image); bounds the round's cost.
        small_groups, prior_strength: as for every estimator.
    """

    name = "pool"

    def __init__(self, max_pool_images: int | None = 64, small_groups: str = "shrink", prior_strength: float = 2.0):
        super().__init__(small_groups, prior_strength)
        _check_limit("max_pool_images", max_pool_images)
        self.max_pool_images = None if max_pool_images is None else int(max_pool_images)

    def measure(self, inputs: EstimationInputs) -> Measurement:
        _need(inputs, self.name, "pool_ids")
        ids = sample_per_group(inputs.pool_ids, inputs.group_of, inputs.groups, self.max_pool_images, inputs.seed)
        dice = self.predicted_dice(ids, inputs) if ids else np.zeros(0)
        return Measurement(by_group(ids, dice, inputs.group_of, inputs.groups))

    def predicted_dice(self, ids: Sequence[str], inputs: EstimationInputs) -> np.ndarray:
        """Predicted Dice of each of ``ids`` (pool images), in order."""
        raise NotImplementedError

    @staticmethod
    def labeled_ids(inputs: EstimationInputs) -> list[str]:
        return [*inputs.train_ids, *inputs.held_out_ids]


class AgreementEstimator(PoolEstimator):
    """Predicted Dice from the model's agreement with itself on each pool image.

    - ``method="soft_dice"`` (default; one forward pass): :func:`soft_dice_agreement`, the Dice
      the model expects of its hard prediction from its own probabilities;
    - ``"mc_dropout"``: mean pairwise Dice of ``passes`` MC-dropout passes (Roy et al. 2019,
      Bayesian QuickNAT's structure-wise "Dice agreement in MC samples"; needs
      ``model.net.dropout > 0``);
    - ``"tta"``: the same over test-time-augmentation passes (pass 0 the image itself).

    Agreement is confidence, not accuracy (Jungo & Reyes 2019 measure how far the two part):
    with ``calibrate=true`` a line ``Dice ~ a + b * agreement`` is fitted on the labeled images
    (their true Dice; leave-one-out error in ``last_fit``) and applied to the pool.

    Args:
        method: one of :data:`AGREEMENT_METHODS`.
        passes: MC-dropout or TTA passes per image (``method`` other than ``soft_dice``).
        calibrate: map agreement to Dice by the line fitted on the labeled images.
        max_pool_images, small_groups, prior_strength: see :class:`PoolEstimator`.
    """

    name = "agreement"

    def __init__(
        self,
        method: str = "soft_dice",
        passes: int = 8,
        calibrate: bool = False,
        max_pool_images: int | None = 64,
        small_groups: str = "shrink",
        prior_strength: float = 2.0,
    ) -> None:
        super().__init__(max_pool_images, small_groups, prior_strength)
        if method not in AGREEMENT_METHODS:
            raise ValueError(f"method must be one of {AGREEMENT_METHODS}, got {method!r}")
        if int(passes) < 2:
            raise ValueError(f"passes must be >= 2 (agreement between passes), got {passes}")
        self.method, self.passes, self.calibrate = method, int(passes), bool(calibrate)
        self.last_fit: DiceRegression | None = None

    def agreement(self, ids: Sequence[str], inputs: EstimationInputs) -> np.ndarray:
        """Agreement of each of ``ids``, in order."""
        if not ids:
            return np.zeros(0)
        if self.method == "soft_dice":
            _need(inputs, self.name, "predict")
            values = {p.id: soft_dice_agreement(p.probs) for p in inputs.predict(ids)}
        else:
            _need(inputs, self.name, "pass_masks")
            values = {
                sid: mean_pairwise_dice(m) for sid, m in inputs.pass_masks(ids, self.method, self.passes, inputs.seed)
            }
        return np.array([values[s] for s in ids])

    def predicted_dice(self, ids, inputs):
        agreement = self.agreement(ids, inputs)
        if not self.calibrate:
            return agreement
        labeled = self.labeled_ids(inputs)
        if not labeled:  # nothing to calibrate on (no labeled image): agreement as it is
            return agreement
        self.last_fit = fit_dice_regression(self.agreement(labeled, inputs)[:, None], inputs.dice(labeled), ridge=0.0)
        log.info(
            "round %d: agreement calibration on %d labeled images, LOO MAE %.3f",
            inputs.round,
            len(labeled),
            self.last_fit.loo_mae,
        )
        return self.last_fit.predict(agreement[:, None])


class RCAEstimator(PoolEstimator):
    """Reverse classification accuracy (Valindria et al., IEEE TMI 2017), the atlas variant they
    found most accurate, made cheap: each pool image with its prediction is a one-atlas reverse
    segmenter, propagated to up to ``max_references`` labeled images and scored against their
    labels; the best Dice predicts the pool image's Dice (:func:`reverse_classification_dice`).

    Registration: ``none`` (default) propagates the mask as it is, since every image of a cohort
    shares one space (the synthetic subjects are one template under small random warps);
    ``translation`` first finds the best integer shift up to ``max_shift`` voxels per axis by
    intensity correlation, ``(2 max_shift + 1)^3`` correlations per reference and pool image.
    No deformable registration and no fine-tuned network: both cost minutes per round.

    Args:
        max_references: labeled reference images per round, drawn with the round's seed (null: all).
        registration: one of :data:`REGISTRATIONS`.
        max_shift: largest translation searched, in voxels per axis (``translation`` only).
        max_pool_images, small_groups, prior_strength: see :class:`PoolEstimator`.
    """

    name = "rca"

    def __init__(
        self,
        max_references: int | None = 32,
        registration: str = "none",
        max_shift: int = 2,
        max_pool_images: int | None = 64,
        small_groups: str = "shrink",
        prior_strength: float = 2.0,
    ) -> None:
        super().__init__(max_pool_images, small_groups, prior_strength)
        _check_limit("max_references", max_references)
        if registration not in REGISTRATIONS:
            raise ValueError(f"registration must be one of {REGISTRATIONS}, got {registration!r}")
        if int(max_shift) < 0:
            raise ValueError(f"max_shift must be >= 0, got {max_shift}")
        self.max_references = None if max_references is None else int(max_references)
        self.registration, self.max_shift = registration, int(max_shift)

    def references(self, inputs: EstimationInputs) -> tuple[torch.Tensor, torch.Tensor]:
        """``(images, labels)`` ``(R, X, Y, Z)`` of the round's reference images."""
        _need(inputs, self.name, "labeled_images")
        labeled = self.labeled_ids(inputs)
        if self.max_references is not None and len(labeled) > self.max_references:
            rng = np.random.default_rng(inputs.seed)
            pick = set(rng.choice(len(labeled), size=self.max_references, replace=False).tolist())
            labeled = [s for i, s in enumerate(labeled) if i in pick]
        refs = list(inputs.labeled_images(labeled))
        if not refs:
            raise RuntimeError("rca needs at least one labeled reference image")
        return torch.stack([r.image.float() for r in refs]), torch.stack([r.label.float() for r in refs])

    def predicted_dice(self, ids, inputs):
        _need(inputs, self.name, "predict")
        images, labels = self.references(inputs)
        shift = self.max_shift if self.registration == "translation" else None
        values = {
            p.id: reverse_classification_dice(p.image, argmax_is(p.probs[None], FOREGROUND)[0], images, labels, shift)
            for p in inputs.predict(ids)
        }
        return np.array([values[s] for s in ids])


class QualityRegressorEstimator(PoolEstimator):
    """A quality regressor (after Kohlberger et al., MICCAI 2012, who regress a segmentation's
    overlap on features of it): ridge regression of the true Dice of the labeled images on
    :func:`prediction_features` of the current model's predictions, applied to the pool images.
    Its leave-one-out error on the labeled images is kept in ``last_fit`` and logged.

    The labeled images include those the model trained on, whose Dice is optimistic; their
    features are confident alike, which is what the regression has to learn from.

    Args:
        features: names from :data:`QUALITY_FEATURES`, in order.
        ridge: penalty on the standardised slopes (0: least squares).
        max_pool_images, small_groups, prior_strength: see :class:`PoolEstimator`.
    """

    name = "quality_regressor"

    def __init__(
        self,
        features: Sequence[str] = QUALITY_FEATURES,
        ridge: float = 1.0,
        max_pool_images: int | None = 64,
        small_groups: str = "shrink",
        prior_strength: float = 2.0,
    ) -> None:
        super().__init__(max_pool_images, small_groups, prior_strength)
        features = list(features)
        bad = [f for f in features if f not in QUALITY_FEATURES]
        if bad or not features:
            raise ValueError(f"features must be a non-empty list from {QUALITY_FEATURES}, got {features}")
        if not ridge >= 0:
            raise ValueError(f"ridge must be >= 0, got {ridge}")
        self.features, self.ridge = features, float(ridge)
        self.last_fit: DiceRegression | None = None

    def feature_rows(self, ids: Sequence[str], inputs: EstimationInputs) -> np.ndarray:
        _need(inputs, self.name, "predict")
        rows = {p.id: prediction_features(p.probs, self.features) for p in inputs.predict(ids)}
        return np.stack([rows[s] for s in ids]) if ids else np.zeros((0, len(self.features)))

    def predicted_dice(self, ids, inputs):
        labeled = self.labeled_ids(inputs)
        if not labeled:
            raise RuntimeError("quality_regressor needs labeled images to fit on")
        self.last_fit = fit_dice_regression(self.feature_rows(labeled, inputs), inputs.dice(labeled), self.ridge)
        log.info(
            "round %d: quality regressor on %d labeled images, LOO MAE %.3f",
            inputs.round,
            len(labeled),
            self.last_fit.loo_mae,
        )
        return self.last_fit.predict(self.feature_rows(ids, inputs))
