"""The Lightning callback that ends each AL round.

At the end of a round's training it runs, in order, units that each stand alone (and are
tested without a Trainer):

1. evaluation (:mod:`fair_seg_al.al.evaluation`): per-group test and validation metrics;
2. estimation (:mod:`fair_seg_al.estimation`): the strategy's group-performance estimator,
   and any analysis-only probes (``estimation.probes``);
3. scoring (:mod:`fair_seg_al.al.inference`): the strategy's score of every unlabeled image;
4. composition (:mod:`fair_seg_al.strategies.composition`): which images form the batch;
5. labeling (:meth:`AcquisitionCallback.label_batch`): reveal the batch, fixing each
   image's ``held_out`` flag once, and let prequential estimators see the batch's Dice;
6. recording (:mod:`fair_seg_al.al.recording`): the run's tables and the loggers (the loop then
   saves the AL state).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

import numpy as np
import pytorch_lightning as pl

from fair_seg_al.al.evaluation import Evaluation, evaluate_groups
from fair_seg_al.al.finetune import finetune_dice
from fair_seg_al.al.inference import (
    dice_of_images,
    iterate_labeled_images,
    iterate_pass_masks,
    iterate_predictions,
    score_images,
)
from fair_seg_al.al.recording import RunRecorder
from fair_seg_al.al.spec import RunSpec
from fair_seg_al.estimation import EstimationInputs, GroupEstimate, GroupPerformanceEstimator, holdout_owner
from fair_seg_al.metrics import group_means
from fair_seg_al.strategies import SelectionContext
from fair_seg_al.utils.seeds import ESTIMATION, round_seed

log = logging.getLogger(__name__)

SELECT = "select"  #: role of the estimator whose estimates set the weights
PROBE = "probe"  #: role of an analysis-only estimator (never read by the selection)


class AcquisitionCallback(pl.Callback):
    """Ends an AL round: evaluate, estimate, select, label, record. It adapts Lightning's hooks to
    the AL round and reads the run from its :class:`~fair_seg_al.al.spec.RunSpec`; the loop that
    drives it saves the AL state after each round.

    ``round`` is the round in progress (the next to run between rounds); it moves on when a
    round ends and is restored from the AL state on resume.
    """

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec
        self.dm, self.strategy = spec.datamodule, spec.strategy
        self.budget, self.rounds = spec.settings.budget, spec.settings.rounds
        self.metrics, self.model_factory, self.seed = spec.metrics, spec.model_factory, spec.seed
        self.rng = spec.stream(1)  # the selection generator (its state is part of the AL state)
        self.estimators: dict[str, tuple[GroupPerformanceEstimator, str]] = {}
        if spec.strategy.estimator is not None:
            self.estimators[spec.strategy.estimator.name] = (spec.strategy.estimator, SELECT)
        for key, est in (spec.probes or {}).items():
            self.estimators[f"probe:{key}" if key in self.estimators else key] = (est, PROBE)
        self.holdout = holdout_owner({k: e for k, (e, _) in self.estimators.items()})
        self.recorder = RunRecorder(spec.run_dir, self.dm.groups)
        self.round = 0
        self._fit_start = 0.0

    @property
    def round_rows(self) -> list[dict]:
        return self.recorder.round_rows

    @property
    def oracle_control(self) -> bool:
        """Whether the selection reads the test set (an oracle control run)."""
        return any(e.is_oracle and role == SELECT for e, role in self.estimators.values())

    # -------------------------------------------------------------------- Lightning hooks
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._fit_start = time.perf_counter()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # on_train_end, not on_fit_end: Lightning's teardown moves the module back to the
        # CPU before on_fit_end, and the round's inference belongs on the training device.
        train_s = time.perf_counter() - self._fit_start
        self.end_round(pl_module, train_s)
        self.recorder.log(trainer, self.recorder.round_rows[-1])
        self.round += 1

    # -------------------------------------------------------------------- the round's work
    def end_round(self, module: pl.LightningModule, train_seconds: float = 0.0) -> dict:
        """Everything after training, without a Trainer: returns the round's row."""
        ev = evaluate_groups(module, self.dm, self.metrics)
        row = {"round": self.round, **ev.row, "seconds_train": round(train_seconds, 3)}
        row["oracle_control"] = self.oracle_control
        self.recorder.add_test_values(self.round, ev.test_ids, ev.test_groups, ev.test_values)
        acquiring = self.round < self.rounds
        estimates, seconds_estimate = self.estimate(module, ev, include_selection=acquiring)
        if acquiring:
            row.update(self.acquire(module, estimates, seconds_estimate))
        self.recorder.round_rows.append(row)
        self.recorder.write()
        groups = self.dm.groups
        log.info(
            "round %d: n_labeled=%d dice=%.3f %s disparity=%.3f es_dice=%.3f",
            self.round,
            row["n_labeled"],
            row["dice"],
            " ".join(f"dice_{g}={row[f'dice_{g}']:.3f}" for g in groups),
            row["dice_disparity"],
            row["es_dice"],
        )
        return row

    def inputs(self, module: pl.LightningModule, ev: Evaluation) -> EstimationInputs:
        """What the estimators may read this round (the test values reach the oracle only; no
        label of an unlabeled image reaches any)."""

        def labeled_only(ids: Sequence[str]) -> list[str]:
            labeled = set(self.dm.pool.labeled_ids)
            unlabeled = [s for s in ids if s not in labeled]
            if unlabeled:
                raise PermissionError(f"an estimator asked for the labels of unlabeled images {unlabeled[:3]}")
            return list(ids)

        def dice(ids: Sequence[str]) -> np.ndarray:
            return self.dice_of(module, labeled_only(ids))[1]

        def finetune(train_ids, eval_ids, steps, seed, start):
            if self.model_factory is None:
                raise RuntimeError("k-fold estimation needs the AL loop's model factory")
            return finetune_dice(module, self.dm, self.model_factory, train_ids, eval_ids, steps, seed, start)

        return EstimationInputs(
            round=self.round,
            groups=self.dm.groups,
            group_of=self.dm.group_of,
            train_ids=self.dm.pool.train_ids,
            held_out_ids=self.dm.pool.held_out_ids,
            dice=dice,
            seed=round_seed(self.seed, self.round, ESTIMATION),
            test_groups=ev.test_groups,
            test_dice=ev.test_dice,
            finetune_dice=finetune,
            pool_ids=self.dm.pool.unlabeled_ids,
            predict=lambda ids: iterate_predictions(module, self.dm.loader(list(ids))),
            pass_masks=lambda ids, method, passes, seed: iterate_pass_masks(
                module, self.dm.loader(list(ids)), method, passes, seed
            ),
            labeled_images=lambda ids: iterate_labeled_images(self.dm.loader(labeled_only(ids))),
        )

    def estimate(
        self, module: pl.LightningModule, ev: Evaluation, include_selection: bool = True
    ) -> tuple[dict[str, GroupEstimate] | None, float]:
        """Run every estimator (the selection one only when this round acquires) and record
        each in ``estimates.csv``; return the selection estimator's estimates and seconds."""
        selected, seconds_selected = None, 0.0
        if not self.estimators:
            return selected, seconds_selected
        inputs = self.inputs(module, ev)
        truth = group_means(ev.test_dice, ev.test_groups, self.dm.groups)
        pool = self.pool_truth(module) if any(role == PROBE for _, role in self.estimators.values()) else {}
        for key, (est, role) in self.estimators.items():
            if role == SELECT and not include_selection:
                continue
            start = time.perf_counter()
            estimates = est.estimate(inputs)
            seconds = round(time.perf_counter() - start, 3)
            weights: dict[str, float] = {}
            if role == SELECT:
                selected, seconds_selected = estimates, seconds
                weights = self.strategy.group_weights(self.context(estimates)) or {}
            self.recorder.add_estimates(self.round, key, role, est.is_oracle, estimates, truth, pool, weights, seconds)
            unmeasured = [g for g, e in estimates.items() if not e.measurable]
            if unmeasured and role == SELECT:
                log.warning(
                    "round %d: %s measured no image of group(s) %s; estimate by the %r rule: %s",
                    self.round,
                    key,
                    unmeasured,
                    est.small_groups,
                    {g: round(estimates[g].estimate, 3) for g in unmeasured},
                )
        return selected, seconds_selected

    def pool_truth(self, module: pl.LightningModule) -> dict[str, dict[str, float]]:
        """Per group: the current model's mean Dice on every unlabeled pool image, its standard
        error and the image count (analysis only, for benchmarks with probes: a truth far larger
        than the test set, which the synthetic cohort's full labels make free to measure)."""
        unlabeled = self.dm.pool.unlabeled_ids
        groups, dice = self.dice_of(module, unlabeled)
        groups = np.asarray(groups)
        out = {}
        for g in self.dm.groups:
            d = dice[groups == g]
            se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
            out[g] = {
                "pool_dice": float(d.mean()) if len(d) else float("nan"),
                "pool_dice_se": se,
                "pool_images": len(d),
            }
        return out

    def context(self, estimates: Mapping[str, GroupEstimate] | None) -> SelectionContext:
        """What the strategy sees when it selects this round."""
        return SelectionContext(
            round=self.round,
            group_performance=None if estimates is None else {g: e.estimate for g, e in estimates.items()},
            labeled_counts=self.dm.pool.counts(self.dm.groups),
        )

    def acquire(
        self, module: pl.LightningModule, estimates: Mapping[str, GroupEstimate] | None, seconds_estimate: float
    ) -> dict:
        start = time.perf_counter()
        out: dict = {}
        ctx = self.context(estimates)
        if estimates is not None:
            out.update({f"estimate_{g}": e.estimate for g, e in estimates.items()})
            out.update({f"n_estimate_{g}": e.n_images for g, e in estimates.items()})
            out["seconds_estimate"] = seconds_estimate
        unlabeled = self.dm.pool.unlabeled_ids
        groups = [self.dm.group_of(s) for s in unlabeled]
        score_start = time.perf_counter()
        if self.strategy.uses_model:
            ids, raw = score_images(module, self.dm.loader(unlabeled), self.strategy)
            if ids != unlabeled:  # an explicit check: asserts vanish under python -O
                raise RuntimeError(f"round {self.round}: scored images {ids[:3]}... differ from the unlabeled pool")
            bad = [sid for sid, v in zip(ids, raw, strict=True) if not np.isfinite(v)]
            if bad:  # NaN sorts last and would turn acquisition into a silent random draw
                raise FloatingPointError(
                    f"round {self.round}: the {self.strategy.name} score is not finite for {len(bad)} of {len(ids)} "
                    f"pool images (e.g. {bad[:5]}): the model diverged or an image holds NaN/Inf"
                )
        else:
            raw = np.full(len(unlabeled), np.nan)
        out["seconds_score"] = round(time.perf_counter() - score_start, 3)
        weights = self.strategy.image_weights(groups, ctx)
        scores = raw * weights
        picked = self.strategy.select(scores, groups, min(self.budget, len(unlabeled)), self.rng, ctx)
        out.update({f"weight_{g}": w for g, w in (self.strategy.group_weights(ctx) or {}).items()})
        chosen = [unlabeled[i] for i in picked]
        info = {unlabeled[i]: (float(scores[i]), float(raw[i]), float(weights[i])) for i in picked}
        out["seconds_observe"] = self.label_batch(chosen, self.round + 1, module, info)
        out["seconds_select"] = round(time.perf_counter() - start - out["seconds_score"] - out["seconds_observe"], 3)
        return out

    def label_batch(
        self,
        ids: Sequence[str],
        labeled_in: int,
        module: pl.LightningModule | None = None,
        info: Mapping[str, tuple[float, float, float]] | None = None,
    ) -> float:
        """Label ``ids`` in round ``labeled_in`` (0: the initial set), fixing their held-out flags.

        With ``module`` (the model that selected them, before any training on them),
        estimators that learn from acquisitions see the batch's per-image Dice. Returns the
        seconds that took.
        """
        pool, groups = self.dm.pool, self.dm.groups
        held: list[str] = []
        if self.holdout is not None:
            held = self.holdout.assign_holdout(
                ids, self.dm.group_of, pool.counts(groups), pool.counts(groups, held_out=True)
            )
        pool.label(ids, labeled_in, held_out=held)
        self.recorder.add_selections(labeled_in, ids, [self.dm.group_of(s) for s in ids], held, info)
        observers = [e for e, _ in self.estimators.values() if e.observes_acquisitions]
        if module is None or not observers or not ids:
            return 0.0
        start = time.perf_counter()
        batch_groups, dice = self.dice_of(module, ids)
        for est in observers:
            est.observe_acquired(labeled_in - 1, ids, batch_groups, dice)
        return round(time.perf_counter() - start, 3)

    def dice_of(self, module: pl.LightningModule, ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """``(groups, per-image Dice)`` of the current model on ``ids``, in order."""
        if not len(ids):
            return [], np.zeros(0)
        _, groups, dice = dice_of_images(module, self.dm.loader(list(ids)))
        return groups, dice

    # -------------------------------------------------------------------- state
    def state_dict(self) -> dict:
        return {
            "round": self.round - 1,  # the last round completed (the AL state's convention)
            "rng": self.rng.bit_generator.state,
            **self.recorder.state_dict(),
            "estimators": {k: e.state_dict() for k, (e, _) in self.estimators.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        self.round = state["round"] + 1
        self.rng.bit_generator.state = state["rng"]
        self.recorder.load_state_dict(state)
        for key, est_state in state.get("estimators", {}).items():
            if key in self.estimators:
                self.estimators[key][0].load_state_dict(est_state)
