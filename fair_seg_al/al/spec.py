"""What one AL run is: its data, strategy, schedule, seed, metrics and folder.

One :class:`RunSpec` is read by the loop (:mod:`fair_seg_al.al.loop`, which drives the rounds)
and by the acquisition callback (:mod:`fair_seg_al.al.callback`, which ends each), so neither
hands the other its settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytorch_lightning as pl

from fair_seg_al.al.evaluation import MetricSettings
from fair_seg_al.data.datamodule import ALDataModule
from fair_seg_al.estimation import GroupPerformanceEstimator
from fair_seg_al.strategies import Strategy


@dataclass
class ALSettings:
    """``al`` config: sizes of the initial set and of each round's batch, and the schedule."""

    initial_size: int = 10
    budget: int = 10
    rounds: int = 4
    reset_weights: bool = False

    def __post_init__(self) -> None:
        from fair_seg_al.config import ConfigError

        for key, low in (("initial_size", 1), ("budget", 1), ("rounds", 0)):
            if getattr(self, key) < low:
                raise ConfigError(f"{key}: must be >= {low}, got {getattr(self, key)}")

    def check_fits(self, pool_sizes: Mapping[str, int], fractions: Mapping[str, float]) -> None:
        """The initial set's quota per group and the whole schedule must fit the unlabeled pool.

        Raises:
            ConfigError: naming ``al.initial_size`` or ``al.budget``.
        """
        from fair_seg_al.config import require
        from fair_seg_al.utils.quota import quota_split

        for g, q in quota_split(self.initial_size, fractions).items():
            require(
                q <= pool_sizes.get(g, 0),
                "al.initial_size",
                f"the initial set needs {q} subjects of group {g!r} ({fractions[g]:.0%} of {self.initial_size}) "
                f"but the pool has {pool_sizes.get(g, 0)}",
            )
        final, n_pool = self.initial_size + self.rounds * self.budget, sum(pool_sizes.values())
        require(
            final <= n_pool,
            "al.budget",
            f"initial_size + rounds x budget = {self.initial_size} + {self.rounds} x {self.budget} = {final} exceeds "
            f"the unlabeled pool of {n_pool} subjects (what test and validation leave); lower al.rounds or "
            "al.budget, or use a larger cohort (cohort.n_subjects)",
        )


@dataclass
class RunSpec:
    """One AL run.

    Args:
        datamodule: the pool-backed data (its pool entirely unlabeled on a fresh start).
        strategy: the acquisition strategy (its ``estimator``, if any, sets group weights).
        settings: the ``al`` schedule: initial set, batch per round, rounds.
        seed: the run's seed; every round, the selection and the estimators draw from it.
        run_dir: where the run's tables and its AL state go.
        metrics: the ``metrics`` config (which metrics, ES alpha, NSD tolerance).
        probes: analysis-only estimators, by name, measured every round (never read by the selection).
        model_factory: builds a fresh network (each round with ``reset_weights``; k-fold copies).
    """

    datamodule: ALDataModule
    strategy: Strategy
    settings: ALSettings
    seed: int
    run_dir: Path
    metrics: MetricSettings = field(default_factory=MetricSettings)
    probes: Mapping[str, GroupPerformanceEstimator] = field(default_factory=dict)
    model_factory: Callable[[], pl.LightningModule] | None = None

    def __post_init__(self) -> None:
        self.run_dir = Path(self.run_dir)

    def stream(self, key: int) -> np.random.Generator:
        """The run's random stream ``key`` (1: selection, 2: the initial set), from the seed alone."""
        return np.random.default_rng(np.random.SeedSequence(entropy=self.seed, spawn_key=(key,)))
