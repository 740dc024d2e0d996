"""The estimator interface, what it may read, and the small-group rules.

An estimator answers: *how well does the current model segment each group?* It measures
per-image Dice on some labeled images (which ones is the estimator's choice), or, if it is
label-free (:mod:`fair_seg_al.estimation.label_free`), predicts the Dice of unlabeled pool
images; then a small-group rule turns the per-group values into estimates. Everything it may read
arrives in :class:`EstimationInputs`, built by the AL callback from the real model and
data, and by the tests from fakes: no estimator needs a Trainer.

Small-group rules (``small_groups``):

- ``shrink`` (default): a Beta prior centred on the pooled mean ``m`` of every measured
  image, worth ``prior_strength`` images: ``(sum_i d_i + k m) / (n + k)``. A group with
  few images leans on the pooled value; a group with none *is* the pooled value; with
  nothing measured at all there is no estimate (NaN).
- ``zero``: a group with no image counts as Dice 0 (the rule of the first held-out
  replication, kept for comparison); measured groups get their plain mean.
- ``none``: plain means; a group with no image has no estimate (NaN).

A NaN estimate is never silent: ``measurable`` is False in ``estimates.csv`` and the
strategy gives that group the neutral weight 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import torch

SMALL_GROUP_RULES = ("shrink", "zero", "none")


@dataclass
class GroupEstimate:
    """One group's estimate: from ``n_images`` images, the plain mean ``raw`` and the
    ``estimate`` after the small-group rule (NaN where there is none)."""

    group: str
    n_images: int
    raw: float
    estimate: float

    @property
    def measurable(self) -> bool:
        return self.n_images > 0


class Prediction(NamedTuple):
    """One image under the current model (one forward pass, eval mode): its ``id``, its
    intensities ``image`` ``(X, Y, Z)`` and the softmax probabilities ``probs`` ``(C, X, Y, Z)``."""

    id: str
    image: torch.Tensor
    probs: torch.Tensor


class LabeledImage(NamedTuple):
    """One *labeled* image: its ``id``, intensities ``image`` ``(X, Y, Z)`` and true mask
    ``label`` ``(X, Y, Z)`` (bool, the foreground class)."""

    id: str
    image: torch.Tensor
    label: torch.Tensor


@dataclass
class EstimationInputs:
    """What an estimator may read at the end of a round.

    Attributes:
        round: the round just trained.
        groups: the cohort's group names, in order.
        group_of: subject id -> group.
        train_ids: labeled images the model was trained on.
        held_out_ids: labeled images never trained on (fixed at acquisition).
        dice: per-image Dice of the current model on the given (labeled) ids.
        seed: the round's seed (fold assignment, fine-tune order).
        test_groups, test_dice: per-image test Dice of the current model. Read only by the
            oracle control; any other estimator that touches them is a bug.
        finetune_dice: ``(train_ids, eval_ids, steps, seed, start) -> per-image Dice of
            eval_ids`` after a short fine-tune on ``train_ids`` from the current weights
            (``start="current"``) or from a fresh network (``"scratch"``). Used by k-fold.
        pool_ids: the unlabeled pool (label-free estimators predict the Dice of these).
        predict: ``ids -> Prediction`` per image, in order (any image: no label is given).
        pass_masks: ``(ids, method, passes, seed) -> (id, masks)`` per image, ``masks``
            ``(passes, X, Y, Z)`` bool: the foreground of each of ``passes`` seeded MC-dropout
            (``method="mc_dropout"``) or test-time-augmentation (``"tta"``) passes.
        labeled_images: ``ids -> LabeledImage`` per image, for labeled images only (it refuses
            an unlabeled one, as ``dice`` does).
    """

    round: int
    groups: Sequence[str]
    group_of: Callable[[str], str]
    train_ids: Sequence[str]
    held_out_ids: Sequence[str]
    dice: Callable[[Sequence[str]], np.ndarray]
    seed: int = 0
    test_groups: Sequence[str] | None = None
    test_dice: np.ndarray | None = None
    finetune_dice: Callable[[Sequence[str], Sequence[str], int, int, str], np.ndarray] | None = None
    pool_ids: Sequence[str] | None = None
    predict: Callable[[Sequence[str]], Iterable[Prediction]] | None = None
    pass_masks: Callable[[Sequence[str], str, int, int], Iterable[tuple[str, torch.Tensor]]] | None = None
    labeled_images: Callable[[Sequence[str]], Iterable[LabeledImage]] | None = None


@dataclass
class Measurement:
    """Per-image Dice values per group, with a weight per value (1 unless decayed)."""

    values: dict[str, list[float]]
    weights: dict[str, list[float]] | None = None

    def weights_of(self, group: str) -> list[float]:
        if self.weights is None:
            return [1.0] * len(self.values.get(group, []))
        return self.weights[group]


def by_group(ids: Sequence[str], dice: np.ndarray, group_of: Callable[[str], str], groups: Sequence[str]):
    """``{group: [dice of its images]}`` (every group present, maybe empty)."""
    out: dict[str, list[float]] = {g: [] for g in groups}
    for sid, d in zip(ids, np.asarray(dice, dtype=float), strict=True):
        out[group_of(sid)].append(float(d))
    return out


def apply_small_group_rule(
    m: Measurement, groups: Sequence[str], rule: str = "shrink", prior_strength: float = 2.0
) -> dict[str, GroupEstimate]:
    """Turn per-group measurements into :class:`GroupEstimate` s by the small-group rule."""
    if rule not in SMALL_GROUP_RULES:
        raise ValueError(f"small_groups must be one of {SMALL_GROUP_RULES}, got {rule!r}")
    sums, totals = {}, {}
    for g in groups:
        v, w = np.asarray(m.values.get(g, []), dtype=float), np.asarray(m.weights_of(g), dtype=float)
        sums[g], totals[g] = float((v * w).sum()), float(w.sum())
    all_w = sum(totals.values())
    pooled = sum(sums.values()) / all_w if all_w > 0 else float("nan")
    out = {}
    for g in groups:
        n = len(m.values.get(g, []))
        raw = sums[g] / totals[g] if totals[g] > 0 else float("nan")
        if rule == "shrink":
            est = (sums[g] + prior_strength * pooled) / (totals[g] + prior_strength) if all_w > 0 else float("nan")
        elif rule == "zero":
            est = raw if n > 0 else 0.0
        else:
            est = raw
        out[g] = GroupEstimate(g, n, raw, est)
    return out


class GroupPerformanceEstimator:
    """Base class. Subclasses implement :meth:`measure`; some also hold images out at
    labeling time (:meth:`assign_holdout`) or learn from acquired batches
    (:meth:`observe_acquired`).

    Args:
        small_groups: ``shrink``, ``zero`` or ``none`` (see the module docstring).
        prior_strength: the shrinkage prior's weight, in images.
    """

    name = "base"
    #: reads the test set: a control, never a selection rule of the study
    is_oracle = False
    #: wants the Dice of each acquired batch under the model that selected it
    observes_acquisitions = False
    #: holds labeled images out of training
    holds_out = False

    def __init__(self, small_groups: str = "shrink", prior_strength: float = 2.0) -> None:
        if small_groups not in SMALL_GROUP_RULES:
            raise ValueError(f"small_groups must be one of {SMALL_GROUP_RULES}, got {small_groups!r}")
        if prior_strength < 0:
            raise ValueError(f"prior_strength must be >= 0, got {prior_strength}")
        self.small_groups, self.prior_strength = small_groups, prior_strength

    def measure(self, inputs: EstimationInputs) -> Measurement:
        raise NotImplementedError

    def estimate(self, inputs: EstimationInputs) -> dict[str, GroupEstimate]:
        return apply_small_group_rule(self.measure(inputs), inputs.groups, self.small_groups, self.prior_strength)

    def assign_holdout(
        self,
        new_ids: Sequence[str],
        group_of: Callable[[str], str],
        labeled: Mapping[str, int],
        held: Mapping[str, int],
    ) -> list[str]:
        """Which of the images being labeled now are held out (none, unless overridden)."""
        return []

    def observe_acquired(self, round: int, ids: Sequence[str], groups: Sequence[str], dice: np.ndarray) -> None:
        """Dice of a just-acquired batch under the model that selected it (unseen by it)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: Mapping) -> None:
        pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items() if k != 'history')})"


def holdout_owner(estimators: Mapping[str, GroupPerformanceEstimator]) -> GroupPerformanceEstimator | None:
    """The one estimator that holds images out (None if none does).

    Raises:
        ValueError: two estimators both want to hold images out.
    """
    owners = [k for k, e in estimators.items() if e.holds_out]
    if len(owners) > 1:
        raise ValueError(f"only one estimator may hold labeled images out, got {owners}")
    return estimators[owners[0]] if owners else None
