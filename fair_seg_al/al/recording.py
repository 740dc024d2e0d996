"""The run's plain-file outputs and its logger calls, written after every round.

- ``rounds.csv``: one row per round (metrics, labeled counts, weights, timings);
- ``selections.csv``: every labeled image, with the round, score, weight and ``held_out``;
- ``estimates.csv``: per round x estimator x group: images used, estimate, the test Dice
  it tries to estimate (analysis only: no non-oracle rule reads it) and seconds; with
  analysis probes also ``pool_dice`` (mean Dice on the whole unlabeled pool, a larger truth), its
  standard error and image count;
- ``test_dice.csv``: per round, the per-image test Dice, NSD and HD95.

Every file is rewritten atomically, so a crash leaves the previous round's files intact.
"""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl

from fair_seg_al.al.state import write_table

#: per test image and round (``nsd``: normalised surface Dice, ``hd95``: mm; empty with metrics.surface=false)
TEST_COLUMNS = ["round", "subject_id", "group", "dice", "nsd", "hd95"]
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

    def write(self) -> None:
        g = self.groups
        first = (
            ["round", "n_labeled"]
            + [f"n_labeled_{x}" for x in g]
            + ["dice"]
            + [f"dice_{x}" for x in g]
            + ["disparity", "disparity_sum", "es_dice", "ser"]
        )
        write_table(self.run_dir / "rounds.csv", self.round_rows, first)
        write_table(self.run_dir / "selections.csv", self.selection_rows, SELECTION_COLUMNS)
        write_table(self.run_dir / "estimates.csv", self.estimate_rows, ESTIMATE_COLUMNS)
        write_table(self.run_dir / "test_dice.csv", self.test_rows, TEST_COLUMNS)

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
        self.round_rows = list(state["round_rows"])
        self.selection_rows = [{"held_out": False, **r} for r in state["selection_rows"]]
        self.estimate_rows = list(state.get("estimate_rows", []))
        self.test_rows = list(state.get("test_rows", []))
