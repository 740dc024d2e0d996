"""Per-group evaluation of the current model on the fixed test (and validation) sets."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pytorch_lightning as pl

from fair_seg_al.al.inference import dice_of_images
from fair_seg_al.data.datamodule import ALDataModule
from fair_seg_al.metrics import fairness_summary


@dataclass
class Evaluation:
    """A round's test metrics (``row``, for ``rounds.csv``) and the per-image test Dice."""

    row: dict
    test_ids: list[str] = field(default_factory=list)
    test_groups: list[str] = field(default_factory=list)
    test_dice: np.ndarray = field(default_factory=lambda: np.zeros(0))


def evaluate_groups(module: pl.LightningModule, dm: ALDataModule, es_alpha: float = 1.0) -> Evaluation:
    """Overall and per-group test Dice, disparity, ES-Dice, SER; validation Dice if any."""
    start = time.perf_counter()
    groups = dm.groups
    row: dict = {"n_labeled": dm.pool.n_labeled}
    row.update({f"n_labeled_{g}": n for g, n in dm.pool.counts(groups).items()})
    row.update({f"n_held_out_{g}": n for g, n in dm.pool.counts(groups, held_out=True).items()})
    ids, test_groups, test_dice = dice_of_images(module, dm.test_dataloader())
    row.update(fairness_summary(test_dice, test_groups, groups, es_alpha))
    if dm.split["val"]:
        _, val_groups, val_dice = dice_of_images(module, dm.val_dataloader())
        val = fairness_summary(val_dice, val_groups, groups, es_alpha)
        row.update({"val_dice": val["dice"], "val_es_dice": val["es_dice"]})
    row["seconds_evaluate"] = round(time.perf_counter() - start, 3)
    row["device"] = str(module.device)  # where the round's inference ran
    return Evaluation(row, ids, test_groups, test_dice)
