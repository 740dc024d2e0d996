"""The run's plain-file outputs and its logger calls, written after every round.

- ``rounds.csv``: one row per round (metrics, labeled counts, weights, timings);
- ``selections.csv``: every labeled image, with the round, score, weight and ``held_out``;
- ``estimates.csv``: per round x estimator x group: images used, estimate, the test Dice
  it tries to estimate (analysis only: no non-oracle rule reads it) and seconds; with
  analysis probes also ``pool_dice`` (mean Dice on the whole unlabeled pool, a larger truth), its
  standard error and image count;
- ``test_dice.csv``: per round, each test image's value of every metric computed (Dice, NSD, HD95).

The recorder owns every row's shape: the columns come from the metric table
(:func:`fair_seg_al.metrics.summary_columns`) and the lists below.

Every file is rewritten atomically, so a crash leaves the previous round's files intact.
"""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl

from fair_seg_al.al.state import write_table
from fair_seg_al.metrics import METRICS, RENAMED_COLUMNS, summary_columns

#: per test image and round, then one column per metric of the table (``nsd``: normalised surface
#: Dice, ``hd95``: mm; empty where not computed, e.g. metrics.surface=false)
TEST_KEYS = ["round", "subject_id", "group"]
SELECTION_COLUMNS = ["round", "subject_id", "group", "held_out", "score", "raw_score", "weight"]
ESTIMATE_COLUMNS = [
    "round",
    "estimator",
    "role",
    "oracle_control",
    "group",
    "n_images",
    "raw_estimate",
    "estimate",
    "measurable",
    "test_dice",
    "pool_dice",
    "pool_dice_se",
    "pool_images",
    "weight",
    "seconds",
]


class RunRecorder:
    """Rows of the run's tables; ``write`` puts them on disk, ``log`` sends a round to the loggers."""

    def __init__(self, run_dir: str | Path, groups: list[str]) -> None:
        self.run_dir, self.groups = Path(run_dir), list(groups)
        self.round_rows: list[dict] = []
        self.selection_rows: list[dict] = []
        self.estimate_rows: list[dict] = []
        self.test_rows: list[dict] = []

    def add_selections(self, round: int, ids, groups, held_out, info=None) -> None:
        """One row per labeled image: round, id, group, held-out flag and, for an acquired image,
        its ``(score, raw score, weight)`` from ``info`` (NaN for the initial set)."""
        nan = float("nan")
        for sid, g in zip(ids, groups, strict=True):
            score, raw, weight = (info or {}).get(sid, (nan, nan, nan))
            self.selection_rows.append(
                {"round": round, "subject_id": sid, "group": g, "held_out": sid in held_out,
                 "score": score, "raw_score": raw, "weight": weight}
            )  # fmt: skip

    def add_estimates(
        self, round: int, estimator: str, role: str, oracle: bool, estimates, test_dice, pool, weights, seconds
    ) -> None:
        """One row per group of an estimator's round: its estimate beside the truths it tries to
        estimate (``test_dice``; ``pool``: the pool truth where measured), the weight and seconds."""
        for g, e in estimates.items():
            self.estimate_rows.append(
                {
                    "round": round,
                    "estimator": estimator,
                    "role": role,
                    "oracle_control": oracle,
                    "group": g,
                    "n_images": e.n_images,
                    "raw_estimate": e.raw,
                    "estimate": e.estimate,
                    "measurable": e.measurable,
                    "test_dice": test_dice[g],
                    **pool.get(g, {}),
                    "weight": weights.get(g, float("nan")),
                    "seconds": seconds,
                }
            )

    def add_test_values(self, round: int, ids, groups, values: dict) -> None:
        """One row per test image: its id, group and the value of each metric computed."""
        self.test_rows += [
            {"round": round, "subject_id": s, "group": g, **{k: float(v[i]) for k, v in values.items()}}
            for i, (s, g) in enumerate(zip(ids, groups, strict=True))
        ]

    def write(self) -> None:
        first = ["round", "n_labeled", *(f"n_labeled_{x}" for x in self.groups), *summary_columns("dice", self.groups)]
        write_table(self.run_dir / "rounds.csv", self.round_rows, first)
        write_table(self.run_dir / "selections.csv", self.selection_rows, SELECTION_COLUMNS)
        write_table(self.run_dir / "estimates.csv", self.estimate_rows, ESTIMATE_COLUMNS)
        write_table(self.run_dir / "test_dice.csv", self.test_rows, TEST_KEYS + list(METRICS))

    @staticmethod
    def log(trainer: pl.Trainer, row: dict) -> None:
        metrics = {f"al/{k}": v for k, v in row.items() if isinstance(v, int | float) and k != "round"}
        metrics["al/round"] = row["round"]
        for logger in trainer.loggers:
            experiment = getattr(logger, "experiment", None)
            if experiment is not None and hasattr(experiment, "define_metric"):  # W&B: own step axis
                experiment.log(metrics)
            else:
                logger.log_metrics(metrics, step=row["round"])

    def state_dict(self) -> dict:
        return {
            "round_rows": self.round_rows,
            "selection_rows": self.selection_rows,
            "estimate_rows": self.estimate_rows,
            "test_rows": self.test_rows,
        }

    def load_state_dict(self, state: dict) -> None:
        # a run begun by older code: its rows under today's column names, as the reader gives them
        self.round_rows = [{RENAMED_COLUMNS.get(k, k): v for k, v in r.items()} for r in state["round_rows"]]
        self.selection_rows = [{"held_out": False, **r} for r in state["selection_rows"]]
        self.estimate_rows = list(state.get("estimate_rows", []))
        self.test_rows = list(state.get("test_rows", []))
