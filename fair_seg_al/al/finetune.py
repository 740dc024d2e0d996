"""Short fine-tunes outside the Trainer, for estimators that need a model that has not
seen some labeled images (k-fold). The global RNG state is restored afterwards, so a
run's training, scoring and selection are the same with or without the estimator."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
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
        model.to(module.device).train()
        optimizer = model.optimizer_factory(params=model.parameters())
        for batch in dm.sampling_loader(list(train_ids), steps * dm.batch_size, seed % 2**63):
            loss = model.loss(model(batch["image"].to(module.device)), batch["label"].to(module.device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        _, _, dice = dice_of_images(model, dm.loader(list(eval_ids)))
    return dice
