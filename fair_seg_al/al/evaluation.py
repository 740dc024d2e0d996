"""Per-group evaluation of the current model on the fixed test (and validation) sets."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pytorch_lightning as pl

from fair_seg_al.al.inference import metrics_of_images
from fair_seg_al.data.datamodule import ALDataModule
from fair_seg_al.metrics import disparity, fairness_summary, group_means


@dataclass
class MetricSettings:
    """The ``metrics`` config: ES alpha and the boundary metrics' tolerance.

    Args:
        es_alpha: ES-Dice = Dice / (1 + alpha * sum_g |Dice_g - Dice|).
        nsd_tolerance_mm: normalised surface Dice tolerance in mm (None: one voxel of the
            evaluation grid, its largest side).
        surface: compute NSD and HD95 per test image (False: Dice only).
    """

    es_alpha: float = 1.0
    nsd_tolerance_mm: float | None = None
    surface: bool = True

    def __post_init__(self) -> None:
        from fair_seg_al.config import ConfigError

        if not self.es_alpha >= 0:
            raise ConfigError(f"es_alpha: must be >= 0, got {self.es_alpha}")
        if self.nsd_tolerance_mm is not None and not self.nsd_tolerance_mm > 0:
            raise ConfigError(f"nsd_tolerance_mm: must be > 0 mm (or null: one voxel), got {self.nsd_tolerance_mm}")


@dataclass
class Evaluation:
    """A round's test metrics (``row``, for ``rounds.csv``) and the per-image test values
    (``test_values``: ``dice``, and ``nsd``/``hd95`` where computed)."""

    row: dict
    test_ids: list[str] = field(default_factory=list)
    test_groups: list[str] = field(default_factory=list)
    test_values: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def test_dice(self) -> np.ndarray:
        return self.test_values.get("dice", np.zeros(0))


def evaluate_groups(module: pl.LightningModule, dm: ALDataModule, settings: MetricSettings | None = None) -> Evaluation:
    """Overall and per-group test Dice, disparity, ES-Dice, SER; the same on NSD, and per-group
    HD95 with its gap (in mm); validation Dice if any."""
    settings = settings or MetricSettings()
    start = time.perf_counter()
    groups = dm.groups
    row: dict = {"n_labeled": dm.pool.n_labeled}
    row.update({f"n_labeled_{g}": n for g, n in dm.pool.counts(groups).items()})
    row.update({f"n_held_out_{g}": n for g, n in dm.pool.counts(groups, held_out=True).items()})
    spacing = dm.voxel_size if settings.surface else None
    ids, test_groups, values = metrics_of_images(module, dm.test_dataloader(), spacing, settings.nsd_tolerance_mm)
    row.update(fairness_summary(values["dice"], test_groups, groups, settings.es_alpha))
    if settings.surface:
        row.update(fairness_summary(values["nsd"], test_groups, groups, settings.es_alpha, prefix="nsd"))
        hd = group_means(values["hd95"], test_groups, groups)
        row.update({"hd95": float(np.mean(values["hd95"])), **{f"hd95_{g}": v for g, v in hd.items()}})
        row["hd95_disparity"] = disparity(hd)
    if dm.split["val"]:
        _, val_groups, val = metrics_of_images(module, dm.val_dataloader())
        summary = fairness_summary(val["dice"], val_groups, groups, settings.es_alpha)
        row.update({"val_dice": summary["dice"], "val_es_dice": summary["es_dice"]})
    row["seconds_evaluate"] = round(time.perf_counter() - start, 3)
    row["device"] = str(module.device)  # where the round's inference ran
    return Evaluation(row, ids, test_groups, values)
