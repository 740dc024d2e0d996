"""Group-performance estimators (config group ``strategy/estimator``).

=============  ===========================================  ======================================
name           measures the current model on                costs
=============  ===========================================  ======================================
``train``      its labeled training images (the paper)      nothing; optimistic (memorised)
``holdout``    labeled images held out *when labeled*,      labels: held-out images never train
               never trained on in any round
``prequential``each acquired batch, under the model that    nothing: one forward pass per batch;
               selected it, before it is trained on         lags one round; selected images
                                                            are the uncertain ones (measured)
``kfold``      out-of-fold labeled images, after K short    compute: K fine-tunes per round
               fine-tunes on the other folds
``oracle``     the test set (a control, never a rule)       reads the test set
=============  ===========================================  ======================================

The label-free estimators (``agreement``, ``rca``, ``quality_regressor``), which predict the Dice
of unlabeled pool images instead, are in :mod:`fair_seg_al.estimation.label_free`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from fair_seg_al.estimation.base import EstimationInputs, GroupPerformanceEstimator, Measurement, by_group

KFOLD_STARTS = ("current", "scratch")


class TrainSetEstimator(GroupPerformanceEstimator):
    """Mean Dice on the labeled training images (Danaee et al.'s reading)."""

    name = "train"

    def measure(self, inputs: EstimationInputs) -> Measurement:
        ids = list(inputs.train_ids)
        return Measurement(by_group(ids, inputs.dice(ids), inputs.group_of, inputs.groups))


class HoldoutEstimator(GroupPerformanceEstimator):
    """Mean Dice on labeled images that were held out when labeled and are never trained on.

    When a batch is labeled, each group's held-out count is topped up to
    ``min(n - min_train, max(min_held, round(fraction * n)))``, ``n`` being the group's
    labeled count after the batch, by holding out the batch's images of that group in the
    order they were selected. The flag never changes afterwards: an image is held out for
    good or trained on for good. From a 9 A / 1 B start with the defaults (0.25, 2, 1): A
    holds out 2 of 9, B none (its one image trains), so B is estimated by the
    small-group rule until a second B image arrives.

    Args:
        fraction: target share of each group's labeled images held out.
        min_held: held-out images per group once it can spare them.
        min_train: training images each group keeps before anything is held out.
    """

    name = "holdout"
    holds_out = True

    def __init__(
        self,
        fraction: float = 0.25,
        min_held: int = 2,
        min_train: int = 1,
        small_groups: str = "shrink",
        prior_strength: float = 2.0,
    ) -> None:
        super().__init__(small_groups, prior_strength)
        if not 0 < fraction < 1:
            raise ValueError(f"fraction must be in (0, 1), got {fraction}")
        if min_held < 0 or min_train < 1:
            raise ValueError(f"min_held must be >= 0 and min_train >= 1, got {min_held}, {min_train}")
        self.fraction, self.min_held, self.min_train = fraction, min_held, min_train

    def target(self, n: int) -> int:
        """Held-out images a group with ``n`` labeled images should have."""
        return max(0, min(n - self.min_train, max(self.min_held, math.floor(self.fraction * n + 0.5))))

    def assign_holdout(self, new_ids, group_of, labeled, held):
        new_by_group: dict[str, list[str]] = {}
        for sid in new_ids:
            new_by_group.setdefault(group_of(sid), []).append(sid)
        out = []
        for g, members in new_by_group.items():
            need = self.target(labeled.get(g, 0) + len(members)) - held.get(g, 0)
            out += members[: max(0, need)]
        return out

    def measure(self, inputs: EstimationInputs) -> Measurement:
        ids = list(inputs.held_out_ids)
        return Measurement(by_group(ids, inputs.dice(ids), inputs.group_of, inputs.groups))


class PrequentialEstimator(GroupPerformanceEstimator):
    """Running per-group mean Dice of acquired batches, each measured by the model that
    selected it, before any training on it ("test, then train": every value is unseen).

    At round ``r``'s selection the newest values are those of the batch acquired after
    round ``r-1``, measured by round ``r-1``'s model: the estimate lags one round behind
    the model it is used for. The initial set is never measured (no model existed), so
    at round 0 nothing is measured and every group gets the neutral weight.

    Args:
        window: only batches acquired in the last ``window`` rounds (null: all).
        decay: a batch ``a`` rounds old counts ``decay ** a`` (1: all alike).
    """

    name = "prequential"
    observes_acquisitions = True

    def __init__(
        self, window: int | None = None, decay: float = 1.0, small_groups: str = "shrink", prior_strength: float = 2.0
    ) -> None:
        super().__init__(small_groups, prior_strength)
        if window is not None and window < 1:
            raise ValueError(f"window must be >= 1 or null, got {window}")
        if not 0 < decay <= 1:
            raise ValueError(f"decay must be in (0, 1], got {decay}")
        self.window, self.decay = window, decay
        self.history: list[tuple[int, str, str, float]] = []  # (model round, id, group, dice)

    def observe_acquired(self, round, ids, groups, dice):
        self.history += [(int(round), str(s), str(g), float(d)) for s, g, d in zip(ids, groups, dice, strict=True)]

    def measure(self, inputs: EstimationInputs) -> Measurement:
        values: dict[str, list[float]] = {g: [] for g in inputs.groups}
        weights: dict[str, list[float]] = {g: [] for g in inputs.groups}
        for model_round, _, g, d in self.history:
            age = inputs.round - 1 - model_round  # 0: the batch measured by the previous model
            if model_round >= inputs.round or (self.window is not None and age >= self.window):
                continue
            values[g].append(d)
            weights[g].append(self.decay**age)
        return Measurement(values, weights)

    def state_dict(self) -> dict:
        return {"history": [list(h) for h in self.history]}

    def load_state_dict(self, state: Mapping) -> None:
        self.history = [(int(r), str(s), str(g), float(d)) for r, s, g, d in state.get("history", [])]


def stratified_folds(ids: Sequence[str], group_of: Callable[[str], str], k: int, seed: int) -> list[list[str]]:
    """``k`` folds with each group dealt round-robin after a seeded shuffle (empty folds dropped)."""
    rng = np.random.default_rng(seed)
    folds: list[list[str]] = [[] for _ in range(k)]
    start = 0
    for g in sorted({group_of(s) for s in ids}):
        members = [s for s in ids if group_of(s) == g]
        for j, i in enumerate(rng.permutation(len(members))):
            folds[(start + j) % k].append(members[i])
        start = (start + len(members)) % k  # keep the folds' sizes level across groups
    return [f for f in folds if f]


class KFoldEstimator(GroupPerformanceEstimator):
    """Out-of-fold Dice on the labeled training images: for each of ``k`` group-stratified
    folds, fine-tune a copy of the network for ``steps`` steps on the other folds, then
    measure it on the fold. Costs compute (``k x steps`` steps per round), not labels.

    ``start="current"`` fine-tunes from the current weights, which have already been
    trained on every fold: fast, but the fold is not truly unseen (its optimism is
    measured in the estimator benchmark). ``start="scratch"`` trains a fresh network:
    truly out-of-fold, but a short run gives a weaker model than the one being judged.

    Args:
        k: folds (a group with fewer training images than ``k`` still works).
        steps: fine-tuning steps per fold.
        start: ``current`` or ``scratch``.
    """

    name = "kfold"

    def __init__(
        self,
        k: int = 3,
        steps: int = 50,
        start: str = "current",
        small_groups: str = "shrink",
        prior_strength: float = 2.0,
    ) -> None:
        super().__init__(small_groups, prior_strength)
        if k < 2:
            raise ValueError(f"k must be >= 2, got {k}")
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        if start not in KFOLD_STARTS:
            raise ValueError(f"start must be one of {KFOLD_STARTS}, got {start!r}")
        self.k, self.steps, self.start = k, steps, start

    def measure(self, inputs: EstimationInputs) -> Measurement:
        if inputs.finetune_dice is None:
            raise RuntimeError("kfold needs a fine-tuning function (EstimationInputs.finetune_dice)")
        ids = list(inputs.train_ids)
        folds = stratified_folds(ids, inputs.group_of, self.k, inputs.seed)
        seen, dice = [], []
        for j, fold in enumerate(folds):
            in_fold = set(fold)
            rest = [s for s in ids if s not in in_fold]
            if not rest:  # a single fold holds everything: nothing to train on
                continue
            dice.append(np.asarray(inputs.finetune_dice(rest, fold, self.steps, inputs.seed + j, self.start)))
            seen += fold
        return Measurement(
            by_group(seen, np.concatenate(dice) if dice else np.zeros(0), inputs.group_of, inputs.groups)
        )


class OracleEstimator(GroupPerformanceEstimator):
    """The current model's true per-group test Dice: the best any estimator could do.

    A control only: it reads the test set. Runs that select with it are marked
    ``oracle_control`` in every output, tagged ``control=oracle`` in W&B, and labelled
    as such in the report.
    """

    name = "oracle"
    is_oracle = True

    def __init__(self, small_groups: str = "none", prior_strength: float = 0.0) -> None:
        super().__init__(small_groups, prior_strength)

    def measure(self, inputs: EstimationInputs) -> Measurement:
        if inputs.test_dice is None or inputs.test_groups is None:
            raise RuntimeError("the oracle control needs the round's per-image test Dice")
        values: dict[str, list[float]] = {g: [] for g in inputs.groups}
        for g, d in zip(inputs.test_groups, inputs.test_dice, strict=True):
            values[g].append(float(d))
        return Measurement(values)
