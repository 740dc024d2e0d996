"""Short fine-tunes for estimators that need a model that has not seen some labeled images
(k-fold). They run through Lightning like a round's training (the module's own training_step
with its NaN guard, configure_optimizers with any scheduler, the round's precision), on a
Trainer of their own that logs and checkpoints nothing. The global RNG state is restored
afterwards, so a run's training, scoring and selection are the same with or without the
estimator."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import numpy as np
import pytorch_lightning as pl
import torch

from fair_seg_al.al.inference import dice_of_images
from fair_seg_al.data.datamodule import ALDataModule
from fair_seg_al.model import SegmentationModule


def finetune_dice(
    module: SegmentationModule,
    dm: ALDataModule,
    model_factory: Callable[[], SegmentationModule],
    train_ids: Sequence[str],
    eval_ids: Sequence[str],
    steps: int,
    seed: int,
    start: str = "current",
) -> np.ndarray:
    """Per-image Dice on ``eval_ids`` of a copy of ``module`` fine-tuned ``steps`` steps on ``train_ids``.

    ``start="current"``: the copy starts from ``module``'s weights; ``"scratch"``: from a
    freshly initialised network. ``module`` itself is not touched.
    """
    devices = [module.device] if module.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed % 2**63)
        model = model_factory()
        if start == "current":
            model.load_state_dict(module.state_dict())
        loader = dm.sampling_loader(list(train_ids), steps * dm.batch_size, seed % 2**63)
        with _quiet_lightning():
            _trainer_like(module, steps).fit(model, train_dataloaders=loader)
        model.to(module.device)  # Lightning's teardown leaves the model on the CPU
        _, _, dice = dice_of_images(model, dm.loader(list(eval_ids)))
    return dice


def _trainer_like(module: SegmentationModule, steps: int) -> pl.Trainer:
    """A Trainer on the module's device and at its round's precision (32-bit without one)."""
    attached = module._trainer is not None
    return pl.Trainer(
        accelerator="gpu" if module.device.type == "cuda" else "cpu",
        devices=[module.device.index or 0] if module.device.type == "cuda" else 1,
        precision=module.trainer.precision if attached else "32-true",
        max_steps=steps,
        max_epochs=1,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )


@contextmanager
def _quiet_lightning():
    """The fine-tunes' Trainers would repeat the round's device banner three times a round."""
    loggers = [
        logging.getLogger(n) for n in ("pytorch_lightning.utilities.rank_zero", "lightning.pytorch.utilities.rank_zero")
    ]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
