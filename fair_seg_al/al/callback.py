"""The Lightning callback that runs acquisition between AL rounds.

At the end of each round's training it: evaluates per-group test (and validation) metrics,
measures per-group performance on labeled images if the strategy asks for it, scores the
unlabeled pool, asks the strategy for the next batch, labels it, writes ``rounds.csv`` and
``selections.csv``, logs to the Lightning loggers (W&B on an ``al/round`` axis), and saves
the AL state atomically.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytorch_lightning as pl

from fair_seg_al.al.inference import dice_of_images, score_images
from fair_seg_al.al.state import write_table
from fair_seg_al.data.datamodule import ALDataModule
from fair_seg_al.metrics import fairness_summary, group_means
from fair_seg_al.strategies import SelectionContext, Strategy

log = logging.getLogger(__name__)


class AcquisitionCallback(pl.Callback):
    """Ends an AL round: evaluate, select, label, record, checkpoint.

    Args:
        datamodule: the pool-backed data.
        strategy: the acquisition strategy.
        budget: images acquired per round.
        rounds: number of acquisition rounds (the last trained round acquires nothing).
        rng: the selection generator (its state is part of the AL state).
        run_dir: where ``rounds.csv`` and ``selections.csv`` go.
        es_alpha: alpha of the equity-scaled Dice.
        save_state: called with the round just completed, after its outputs are written.
    """

    def __init__(
        self,
        datamodule: ALDataModule,
        strategy: Strategy,
        budget: int,
        rounds: int,
        rng: np.random.Generator,
        run_dir: str | Path,
        es_alpha: float = 1.0,
        save_state: Callable[[int], None] | None = None,
    ) -> None:
        self.dm, self.strategy, self.budget, self.rounds = datamodule, strategy, budget, rounds
        self.rng, self.run_dir, self.es_alpha, self.save_state = rng, Path(run_dir), es_alpha, save_state
        self.round = 0
        self.round_rows: list[dict] = []
        self.selection_rows: list[dict] = []
        self._fit_start = 0.0

    # -------------------------------------------------------------------- Lightning hooks
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._fit_start = time.perf_counter()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # on_train_end, not on_fit_end: Lightning's teardown moves the module back to the
        # CPU before on_fit_end, and the round's inference belongs on the training device.
        train_s = time.perf_counter() - self._fit_start
        row = self.evaluate(pl_module)
        row["seconds_train"] = round(train_s, 3)
        if self.round < self.rounds:
            row.update(self.acquire(pl_module))
        self.round_rows.append(row)
        self.write_outputs()
        self.log_round(trainer, row)
        if self.save_state is not None:
            self.save_state(self.round)
        groups = self.dm.groups
        log.info(
            "round %d: n_labeled=%d dice=%.3f %s disparity=%.3f es_dice=%.3f",
            self.round,
            row["n_labeled"],
            row["dice"],
            " ".join(f"dice_{g}={row[f'dice_{g}']:.3f}" for g in groups),
            row["disparity"],
            row["es_dice"],
        )

    # -------------------------------------------------------------------- the round's work
    def evaluate(self, module: pl.LightningModule) -> dict:
        start = time.perf_counter()
        groups = self.dm.groups
        row: dict = {"round": self.round, "n_labeled": self.dm.pool.n_labeled}
        row.update({f"n_labeled_{g}": n for g, n in self.dm.pool.counts(groups).items()})
        _, test_groups, test_dice = dice_of_images(module, self.dm.test_dataloader())
        row.update(fairness_summary(test_dice, test_groups, groups, self.es_alpha))
        if self.dm.split["val"]:
            _, val_groups, val_dice = dice_of_images(module, self.dm.val_dataloader())
            val = fairness_summary(val_dice, val_groups, groups, self.es_alpha)
            row.update({"val_dice": val["dice"], "val_es_dice": val["es_dice"]})
        row["seconds_evaluate"] = round(time.perf_counter() - start, 3)
        row["device"] = str(module.device)  # where the round's inference ran
        return row

    def group_performance(self, module: pl.LightningModule) -> dict[str, float]:
        """Current model's mean Dice per group on labeled images (held-out ones if any).

        A group with no image to measure on (none labeled, or, with a hold-out, too few to
        hold one out) counts as Dice 0: a group the model cannot be checked on is presumed
        poorly served. Measuring it on its training images instead would be worse: the
        network fits those almost perfectly (Dice 0.97-1.0 in the cpu sweep), which gives
        the group the smallest weight exactly when it is least represented.
        """
        ids = self.dm.holdout or self.dm.train_ids
        _, groups, dice = dice_of_images(module, self.dm.loader(ids))
        perf = group_means(dice, groups, self.dm.groups)
        return {g: (0.0 if np.isnan(v) else v) for g, v in perf.items()}

    def acquire(self, module: pl.LightningModule) -> dict:
        start = time.perf_counter()
        out: dict = {}
        ctx = SelectionContext(round=self.round)
        if self.strategy.needs_group_performance:
            ctx.group_performance = self.group_performance(module)
            out.update({f"perf_{g}": v for g, v in ctx.group_performance.items()})
        unlabeled = self.dm.pool.unlabeled_ids
        groups = [self.dm.group_of(s) for s in unlabeled]
        score_start = time.perf_counter()
        if self.strategy.uses_model:
            ids, raw = score_images(module, self.dm.loader(unlabeled), self.strategy)
            assert ids == unlabeled
        else:
            raw = np.full(len(unlabeled), np.nan)
        out["seconds_score"] = round(time.perf_counter() - score_start, 3)
        weights = self.strategy.image_weights(groups, ctx)
        scores = raw * weights
        picked = self.strategy.select(scores, groups, min(self.budget, len(unlabeled)), self.rng)
        chosen = [unlabeled[i] for i in picked]
        self.dm.pool.label(chosen, self.round + 1)
        for i in picked:
            self.selection_rows.append(
                {
                    "round": self.round + 1,
                    "subject_id": unlabeled[i],
                    "group": groups[i],
                    "score": float(scores[i]),
                    "raw_score": float(raw[i]),
                    "weight": float(weights[i]),
                }
            )
        group_w = self.strategy.group_weights(ctx)
        if group_w:
            out.update({f"weight_{g}": w for g, w in group_w.items()})
        out["seconds_select"] = round(time.perf_counter() - start - out["seconds_score"], 3)
        return out

    # -------------------------------------------------------------------- outputs
    def record_initial(self, ids: list[str]) -> None:
        for sid in ids:
            self.selection_rows.append(
                {
                    "round": 0,
                    "subject_id": sid,
                    "group": self.dm.group_of(sid),
                    "score": float("nan"),
                    "raw_score": float("nan"),
                    "weight": float("nan"),
                }
            )

    def write_outputs(self) -> None:
        groups = self.dm.groups
        first = (
            ["round", "n_labeled"]
            + [f"n_labeled_{g}" for g in groups]
            + ["dice"]
            + [f"dice_{g}" for g in groups]
            + ["disparity", "disparity_sum", "es_dice", "ser"]
        )
        write_table(self.run_dir / "rounds.csv", self.round_rows, first)
        write_table(
            self.run_dir / "selections.csv",
            self.selection_rows,
            ["round", "subject_id", "group", "score", "raw_score", "weight"],
        )

    def log_round(self, trainer: pl.Trainer, row: dict) -> None:
        metrics = {f"al/{k}": v for k, v in row.items() if isinstance(v, int | float) and k != "round"}
        metrics["al/round"] = row["round"]
        for logger in trainer.loggers:
            experiment = getattr(logger, "experiment", None)
            if experiment is not None and hasattr(experiment, "define_metric"):  # W&B: own step axis
                experiment.log(metrics)
            else:
                logger.log_metrics(metrics, step=row["round"])

    # -------------------------------------------------------------------- state
    def state_dict(self) -> dict:
        return {
            "round": self.round,
            "rng": self.rng.bit_generator.state,
            "round_rows": self.round_rows,
            "selection_rows": self.selection_rows,
        }

    def load_state_dict(self, state: dict) -> None:
        self.round = state["round"]
        self.rng.bit_generator.state = state["rng"]
        self.round_rows, self.selection_rows = list(state["round_rows"]), list(state["selection_rows"])
