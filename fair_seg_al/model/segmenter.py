"""A small LightningModule: a segmentation network, a loss and an optimiser, injected.

No paths, no I/O, no AL logic here: Hydra builds the parts (``conf/model/``), the AL
callback does the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytorch_lightning as pl
import torch
from torch import nn


class SegmentationModule(pl.LightningModule):
    """Binary 3D segmentation (class 1 = structure).

    Args:
        net: maps ``(B, 1, X, Y, Z)`` images to ``(B, C, X, Y, Z)`` logits (e.g. MONAI UNet).
        loss: ``loss(logits, labels)`` with labels ``(B, 1, X, Y, Z)`` (e.g. MONAI DiceCELoss
            with ``to_onehot_y=True, softmax=True``).
        optimizer: partial ``torch.optim`` constructor taking the parameters.
        scheduler: optional partial LR scheduler constructor taking the optimiser.
        channels_last: keep 3D activations and conv weights channels-last
            (``torch.channels_last_3d``): the same results up to float rounding, x1.5 per training step on this
            project's CPU (``benchmarks/bench_train_step.py``).
        roi_size: predict whole volumes by sliding a window of this size (MONAI's sliding-window
            inference, Gaussian-weighted overlaps), for volumes too large to predict at once;
            None: one forward pass per volume. Set with ``data.patch_size`` (training patches).
        sw_batch_size, sw_overlap: windows per forward pass, and their overlap.
    """

    def __init__(
        self,
        net: nn.Module,
        loss: nn.Module,
        optimizer: Callable,
        scheduler: Callable | None = None,
        channels_last: bool = False,
        roi_size: Sequence[int] | None = None,
        sw_batch_size: int = 4,
        sw_overlap: float = 0.25,
    ) -> None:
        super().__init__()
        self.roi_size = tuple(int(r) for r in roi_size) if roi_size else None
        self.sw_batch_size, self.sw_overlap = int(sw_batch_size), float(sw_overlap)
        self.net, self.loss = net, loss
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.channels_last = channels_last
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last_3d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last and x.dim() == 5:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        return self.net(x)

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax probabilities ``(B, C, X, Y, Z)`` (by sliding window when ``roi_size`` is set)."""
        if self.roi_size is None:
            return torch.softmax(self(x), dim=1)
        from monai.inferers import sliding_window_inference

        probs = sliding_window_inference(
            x,
            self.roi_size,
            self.sw_batch_size,
            lambda window: torch.softmax(self(window), dim=1),
            overlap=self.sw_overlap,
            mode="gaussian",
        )
        return torch.as_tensor(probs)  # a plain tensor, not MONAI's MetaTensor

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss = self.loss(self(batch["image"]), batch["label"])
        if not torch.isfinite(loss):  # a diverged run must fail loudly, not look like a poor one
            raise FloatingPointError(
                f"training loss is {loss.item()} at step {self.global_step} (images {list(batch.get('id', []))[:4]}); "
                "lower model.optimizer.lr or check the images"
            )
        self.log("train/loss", loss, prog_bar=True, batch_size=batch["image"].shape[0])
        return loss

    def configure_optimizers(self):
        optimizer = self.optimizer_factory(params=self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": self.scheduler_factory(optimizer=optimizer), "interval": "step"},
        }
