"""Per-group evaluation of the current model on the fixed test (and validation) sets."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pytorch_lightning as pl

from fair_seg_al.al.inference import metrics_of_images
from fair_seg_al.data.datamodule import ALDataModule
from fair_seg_al.metrics import METRICS, summarise


@dataclass
class MetricSettings:
    """The ``metrics`` config: which metrics, the ES alpha and the boundary metrics' tolerance.

    Args:
        names: the metrics computed per test image, names of the metric table
            (:data:`fair_seg_al.metrics.METRICS`); ``dice`` first, the study's primary metric.
        es_alpha: ES-Dice = Dice / (1 + alpha * sum_g |Dice_g - Dice|).
        nsd_tolerance_mm: normalised surface Dice tolerance in mm (None: one voxel of the
            evaluation grid, its largest side).
        surface: compute the boundary metrics of ``names`` (NSD, HD95; False: the others only).
        module: a user's module to import first (it registers its own metrics).
    """

    names: list[str] = field(default_factory=lambda: ["dice", "nsd", "hd95"])
    es_alpha: float = 1.0
    nsd_tolerance_mm: float | None = None
    surface: bool = True
    module: str | None = None

    def __post_init__(self) -> None:
        from fair_seg_al.config import ConfigError, import_user_module

        if self.module:
            import_user_module(self.module, "module")
        unknown = [n for n in self.names if n not in METRICS]
        if unknown:
            raise ConfigError(f"names: unknown metric(s) {unknown}; the metric table has {list(METRICS)}")
        if not self.names or self.names[0] != "dice":
            raise ConfigError(f"names: must start with dice (the study's primary metric), got {self.names}")
        if not self.es_alpha >= 0:
            raise ConfigError(f"es_alpha: must be >= 0, got {self.es_alpha}")
        if self.nsd_tolerance_mm is not None and not self.nsd_tolerance_mm > 0:
            raise ConfigError(f"nsd_tolerance_mm: must be > 0 mm (or null: one voxel), got {self.nsd_tolerance_mm}")

    @property
    def computed(self) -> list[str]:
        """The metrics each test image gets (``names`` without the boundary ones when ``surface`` is off)."""
        return [n for n in self.names if self.surface or not METRICS[n].surface]


@dataclass
class Evaluation:
    """A round's test metrics (``row``, for ``rounds.csv``) and the per-image test values
    (``test_values``: metric name -> values, for each metric computed)."""

    row: dict
    test_ids: list[str] = field(default_factory=list)
    test_groups: list[str] = field(default_factory=list)
    test_values: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def test_dice(self) -> np.ndarray:
        return self.test_values.get("dice", np.zeros(0))


def evaluate_groups(module: pl.LightningModule, dm: ALDataModule, settings: MetricSettings | None = None) -> Evaluation:
    """Each metric's summary columns on the test set (overall and per group, the gap between
    groups and, for scores in [0, 1], the disparity sum, equity-scaled score and SER); validation
    Dice and ES-Dice if any."""
    settings = settings or MetricSettings()
    start = time.perf_counter()
    groups = dm.groups
    row: dict = {"n_labeled": dm.pool.n_labeled}
    row.update({f"n_labeled_{g}": n for g, n in dm.pool.counts(groups).items()})
    row.update({f"n_held_out_{g}": n for g, n in dm.pool.counts(groups, held_out=True).items()})
    names = settings.computed
    spacing = dm.voxel_size if any(METRICS[n].surface for n in names) else None
    ids, test_groups, values = metrics_of_images(
        module, dm.test_dataloader(), names, spacing, settings.nsd_tolerance_mm
    )
    for name in names:
        row.update(summarise(name, values[name], test_groups, groups, settings.es_alpha))
    if dm.split["val"]:
        _, val_groups, val = metrics_of_images(module, dm.val_dataloader())
        summary = summarise("dice", val["dice"], val_groups, groups, settings.es_alpha)
        row.update({"val_dice": summary["dice"], "val_es_dice": summary["es_dice"]})
    row["seconds_evaluate"] = round(time.perf_counter() - start, 3)
    row["device"] = str(module.device)  # where the round's inference ran
    return Evaluation(row, ids, test_groups, values)
