"""The AL driver: one fresh Trainer per round, the callback does the round's end.

A fresh Trainer per round rebuilds the dataloaders from the current pool and a fresh
optimiser (Lightning would not rebuild loaders mid-fit by itself). Every round is seeded
from ``(seed, round)`` alone, and the selection generator's state is saved with the pool,
so a run resumed after round ``r`` selects exactly what an uninterrupted run selects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytorch_lightning as pl

from fair_seg_al.al.callback import AcquisitionCallback
from fair_seg_al.al.evaluation import MetricSettings
from fair_seg_al.al.state import save_state
from fair_seg_al.data.datamodule import ALDataModule
from fair_seg_al.data.pool import draw_initial_set
from fair_seg_al.estimation import GroupPerformanceEstimator
from fair_seg_al.model import SegmentationModule
from fair_seg_al.strategies import Strategy
from fair_seg_al.utils.seeds import round_seed

log = logging.getLogger(__name__)


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


def check_trainer(trainer: Mapping) -> None:
    """The ``trainer`` keys the AL loop relies on: steps per round, and one device per job.

    Raises:
        ConfigError: naming ``trainer.max_steps`` or ``trainer.devices``.
    """
    from omegaconf import OmegaConf

    from fair_seg_al.config import require

    steps = trainer.get("max_steps")
    require(
        isinstance(steps, int) and not isinstance(steps, bool) and steps >= 1,
        "trainer.max_steps",
        f"must be an integer >= 1 (training steps per AL round), got {steps!r}",
        group="trainer",
    )
    devices = trainer.get("devices", 1)
    require(
        devices in (1, "1") or (OmegaConf.is_list(devices) and len(devices) == 1),  # one device, or one named GPU
        "trainer.devices",
        f"must be 1, got {devices!r}: with several devices the acquisition callback would run on every rank; "
        "run one job per device instead (e.g. the parallel or SLURM launcher)",
        group="trainer",
    )


class ActiveLearningLoop:
    """Runs rounds ``0..rounds``: round 0 trains on the initial set, each round ends by acquiring.

    Args:
        datamodule: pool-backed data (its pool must be entirely unlabeled on a fresh start).
        strategy: acquisition strategy.
        model_factory: builds a fresh :class:`SegmentationModule` (called after seeding).
        trainer_factory: builds a Trainer given its callbacks.
        settings: ``al`` config.
        init_fractions: group fractions of the initial labeled set.
        seed: the run's seed.
        run_dir: outputs and ``al_state.pt``.
        config_hash: identifies the experiment; a resume with another config is refused.
        metrics: ES alpha and boundary-metric settings (``metrics`` config).
        probes: analysis-only group-performance estimators (``estimation.probes``).
    """

    def __init__(
        self,
        datamodule: ALDataModule,
        strategy: Strategy,
        model_factory: Callable[[], SegmentationModule],
        trainer_factory: Callable[[list[pl.Callback]], pl.Trainer],
        settings: ALSettings,
        init_fractions: Mapping[str, float],
        seed: int,
        run_dir: str | Path,
        config_hash: str,
        metrics: MetricSettings | None = None,
        probes: Mapping[str, GroupPerformanceEstimator] | None = None,
    ) -> None:
        self.dm, self.strategy, self.settings, self.seed = datamodule, strategy, settings, seed
        self.model_factory, self.trainer_factory = model_factory, trainer_factory
        self.init_fractions, self.run_dir, self.config_hash = dict(init_fractions), Path(run_dir), config_hash
        self.model: SegmentationModule | None = None
        rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(1,)))
        self.callback = AcquisitionCallback(
            datamodule,
            strategy,
            settings.budget,
            settings.rounds,
            rng,
            run_dir,
            metrics,
            save_state=self._save,
            probes=probes,
            model_factory=model_factory,
            seed=seed,
        )
        self.extra_state: dict = {}

    # ------------------------------------------------------------------ state
    def _save(self, completed_round: int) -> None:
        keep_model = not self.settings.reset_weights and self.model is not None
        save_state(
            self.run_dir,
            {
                "round": completed_round,
                "complete": completed_round >= self.settings.rounds,
                "config_hash": self.config_hash,
                "data": self.dm.state_dict(),
                "callback": self.callback.state_dict(),
                "model": self.model.state_dict() if keep_model else None,
                **self.extra_state,
            },
        )

    def resume(self, state: dict) -> int:
        """Restore a saved AL state; return the first round still to run.

        The caller has checked that ``state`` is this experiment's (:func:`check_same_config
        <fair_seg_al.al.state.check_same_config>`, before anything is written).
        """
        self.dm.load_state_dict(state["data"])
        self.callback.load_state_dict(state["callback"])
        if state.get("model") is not None:
            self.model = self.model_factory()
            self.model.load_state_dict(state["model"])
        log.info("Resuming %s after round %d", self.run_dir, state["round"])
        return state["round"] + 1

    # ------------------------------------------------------------------ rounds
    def run(self, state: dict | None = None) -> list[dict]:
        """Run from the start, or continue from a saved ``state``; return the rows of ``rounds.csv``."""
        start = self.resume(state) if state is not None else 0
        if start == 0:
            init_rng = np.random.default_rng(np.random.SeedSequence(entropy=self.seed, spawn_key=(2,)))
            initial = draw_initial_set(self.dm.pool, self.settings.initial_size, self.init_fractions, init_rng)
            self.callback.label_batch(initial, 0)
        for r in range(start, self.settings.rounds + 1):
            seed_r = round_seed(self.seed, r)
            pl.seed_everything(seed_r % (2**32), workers=True, verbose=False)
            if self.model is None or self.settings.reset_weights:
                self.model = self.model_factory()
            self.callback.round = r
            trainer = self.trainer_factory([self.callback])
            steps = trainer.max_steps
            if not steps or steps < 1:  # no hidden default: the config check names trainer.max_steps first
                raise ValueError(f"trainer.max_steps must be >= 1 (steps per AL round), got {steps}")
            self.dm.start_round(seed_r, steps * self.dm.batch_size)
            trainer.fit(self.model, datamodule=self.dm)
        return self.callback.round_rows
