"""The AL driver: one fresh Trainer per round, the callback does the round's end.

A fresh Trainer per round rebuilds the dataloaders from the current pool and a fresh
optimiser (Lightning would not rebuild loaders mid-fit by itself). Every round is seeded
from ``(seed, round)`` alone, and the selection generator's state is saved with the pool,
so a run resumed after round ``r`` selects exactly what an uninterrupted run selects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import pytorch_lightning as pl

from fair_seg_al.al.callback import AcquisitionCallback
from fair_seg_al.al.spec import RunSpec
from fair_seg_al.al.state import save_state
from fair_seg_al.data.pool import draw_initial_set
from fair_seg_al.model import SegmentationModule
from fair_seg_al.utils.seeds import round_seed

log = logging.getLogger(__name__)


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
    """Runs rounds ``0..rounds`` of ``spec``: round 0 trains on the initial set, each round ends
    in the acquisition callback, and the AL state is saved after every round.

    Args:
        spec: the run (read by the callback too).
        trainer_factory: builds a Trainer given its callbacks.
        init_fractions: group fractions of the initial labeled set.
        config_hash: identifies the experiment; a resume with another config is refused.
    """

    def __init__(
        self,
        spec: RunSpec,
        trainer_factory: Callable[[list[pl.Callback]], pl.Trainer],
        init_fractions: Mapping[str, float],
        config_hash: str,
    ) -> None:
        if spec.model_factory is None:
            raise ValueError("the loop needs spec.model_factory")
        self.spec, self.trainer_factory = spec, trainer_factory
        self.init_fractions, self.config_hash = dict(init_fractions), config_hash
        self.dm, self.settings = spec.datamodule, spec.settings
        self.model: SegmentationModule | None = None
        self.callback = AcquisitionCallback(spec)
        self.extra_state: dict = {}

    @property
    def rows(self) -> list[dict]:
        """The rows of ``rounds.csv`` so far."""
        return self.callback.round_rows

    # ------------------------------------------------------------------ state
    def _save(self, completed_round: int) -> None:
        keep_model = not self.settings.reset_weights and self.model is not None
        save_state(
            self.spec.run_dir,
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
            self.model = self.spec.model_factory()
            self.model.load_state_dict(state["model"])
        log.info("Resuming %s after round %d", self.spec.run_dir, state["round"])
        return state["round"] + 1

    # ------------------------------------------------------------------ rounds
    def run(self, state: dict | None = None) -> list[dict]:
        """Run from the start, or continue from a saved ``state``; return the rows of ``rounds.csv``."""
        start = self.resume(state) if state is not None else 0
        if start == 0:
            initial = draw_initial_set(
                self.dm.pool, self.settings.initial_size, self.init_fractions, self.spec.stream(2)
            )
            self.callback.label_batch(initial, 0)
        for r in range(start, self.settings.rounds + 1):
            if self.callback.round != r:
                raise RuntimeError(f"the callback is at round {self.callback.round}, the loop at {r}")
            seed_r = round_seed(self.spec.seed, r)
            pl.seed_everything(seed_r % (2**32), workers=True, verbose=False)
            if self.model is None or self.settings.reset_weights:
                self.model = self.spec.model_factory()
            trainer = self.trainer_factory([self.callback])
            steps = trainer.max_steps
            if not steps or steps < 1:  # no hidden default: the config check names trainer.max_steps first
                raise ValueError(f"trainer.max_steps must be >= 1 (steps per AL round), got {steps}")
            self.dm.start_round(seed_r, steps * self.dm.batch_size)
            trainer.fit(self.model, datamodule=self.dm)  # the callback ends the round (and moves to the next)
            if self.callback.round != r + 1:  # e.g. a Trainer that trained nothing never calls on_train_end
                raise RuntimeError(f"round {r} did not end: the Trainer never reached on_train_end; nothing saved")
            self._save(r)
        return self.rows
