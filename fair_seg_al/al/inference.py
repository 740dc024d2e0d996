"""Streaming inference over a loader: scores and Dice without keeping probabilities.

Each batch's probabilities are reduced to one number per image before the next batch,
so memory does not grow with the pool size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from fair_seg_al.estimation import LabeledImage, Prediction
from fair_seg_al.metrics import METRICS, Cases, argmax_is
from fair_seg_al.model import SegmentationModule
from fair_seg_al.strategies import Strategy
from fair_seg_al.strategies.uncertainty import MCDropoutStrategy, TTAStrategy

#: the multi-pass strategies whose passes label-free estimators compare (``pass_masks``)
PASS_METHODS = {"mc_dropout": MCDropoutStrategy, "tta": TTAStrategy}


def iterate_images(
    module: SegmentationModule, loader: DataLoader, desc: str | None = None
) -> Iterator[tuple[dict, torch.Tensor]]:
    """Yield ``(batch, images)`` with the images on the module's device, the module in eval mode
    under ``inference_mode`` (its training flag is restored afterwards).

    With ``desc``, a progress bar (per batch) shows on a terminal.
    """
    was_training = module.training
    module.eval()
    batches = tqdm(
        loader, desc=desc, unit="batch", leave=False, disable=True if desc is None else None
    )  # None: only on a terminal
    try:
        with torch.inference_mode():
            for batch in batches:
                yield batch, batch["image"].to(module.device, non_blocking=True)
    finally:
        module.train(was_training)


def iterate_probabilities(
    module: SegmentationModule, loader: DataLoader, desc: str | None = None
) -> Iterator[tuple[dict, torch.Tensor]]:
    """Yield ``(batch, probs)`` with ``probs`` ``(B, C, X, Y, Z)`` on the module's device."""
    for batch, images in iterate_images(module, loader, desc):
        yield batch, module.probabilities(images)


def model_fingerprint(module: torch.nn.Module) -> str:
    """sha256 of the module's parameters and buffers: changes whenever training changed the model."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def score_images(module: SegmentationModule, loader: DataLoader, strategy: Strategy) -> tuple[list[str], np.ndarray]:
    """``(ids, scores)``: the strategy's score of every image in ``loader``.

    Batches are scored by ``strategy.score_batch`` (one pass, or several for MC dropout and
    test-time augmentation) and reduced to one number per image before the next. A strategy
    that caches (``caches_scores``) scores images once per model: asked again with the same
    parameters, it answers from memory.
    """
    key = model_fingerprint(module) if strategy.caches_scores else None
    all_ids = list(getattr(getattr(loader, "dataset", None), "ids", []))  # known up front: the cache can answer
    if key is not None and all_ids:
        cached = strategy.cached_scores(key, all_ids)
        if cached is not None:
            return all_ids, cached
    ids, scores = [], []
    for batch, images in iterate_images(module, loader, desc=f"Scoring pool ({strategy.name})"):
        batch_ids = list(batch["id"])
        ids += batch_ids
        scores.append(strategy.score_batch(module, images, batch_ids).float().cpu())
    out = torch.cat(scores).numpy() if scores else np.zeros(0)
    if key is not None:
        strategy.remember(key, ids, out)
    return ids, out


def metrics_of_images(
    module: SegmentationModule,
    loader: DataLoader,
    metrics: Sequence[str] = ("dice",),
    spacing: Sequence[float] | None = None,
    tolerance_mm: float | None = None,
) -> tuple[list[str], list[str], dict[str, np.ndarray]]:
    """``(ids, groups, {metric: per-image values})`` of the argmax prediction (class 1), for each
    of ``metrics`` (names of the metric table, :data:`fair_seg_al.metrics.METRICS`). Boundary
    metrics need ``spacing`` (mm per axis); NSD's tolerance defaults to one voxel, the largest side."""
    table = [METRICS[name] for name in metrics]
    ids, groups, values = [], [], {m.name: [] for m in table}
    for batch, probs in iterate_probabilities(module, loader):
        ids += list(batch["id"])
        groups += list(batch["group"])
        target = batch["label"][:, 0].to(probs.device) == 1
        cases = Cases(argmax_is(probs, 1), target, spacing, tolerance_mm)
        for m in table:
            values[m.name].append(np.asarray(m.per_case(cases)))
    return ids, groups, {k: np.concatenate(v) if v else np.zeros(0) for k, v in values.items()}


def dice_of_images(module: SegmentationModule, loader: DataLoader) -> tuple[list[str], list[str], np.ndarray]:
    """``(ids, groups, dice)``: per-image Dice of the argmax prediction (class 1)."""
    ids, groups, values = metrics_of_images(module, loader)
    return ids, groups, values["dice"]


def iterate_predictions(module: SegmentationModule, loader: DataLoader) -> Iterator[Prediction]:
    """Each image of ``loader`` with the module's probabilities (one pass), on the CPU."""
    for batch, probs in iterate_probabilities(module, loader):
        for i, sid in enumerate(batch["id"]):
            yield Prediction(sid, _plain(batch["image"][i, 0]), _plain(probs[i].float().cpu()))


def iterate_labeled_images(loader: DataLoader) -> Iterator[LabeledImage]:
    """Each image of ``loader`` with its true foreground mask (no model involved)."""
    for batch in loader:
        for i, sid in enumerate(batch["id"]):
            yield LabeledImage(sid, _plain(batch["image"][i, 0]), _plain(batch["label"][i, 0] == 1))


def iterate_pass_masks(
    module: SegmentationModule, loader: DataLoader, method: str, passes: int, seed: int
) -> Iterator[tuple[str, torch.Tensor]]:
    """``(id, masks)`` per image: the foreground ``(passes, X, Y, Z)`` of each of ``passes``
    MC-dropout or TTA passes, drawn exactly as the ``mc_*`` and ``tta`` strategies draw them."""
    if method not in PASS_METHODS:
        raise ValueError(f"method must be one of {tuple(PASS_METHODS)}, got {method!r}")
    strategy = PASS_METHODS[method](passes=passes, seed=seed)
    for batch, images in iterate_images(module, loader):
        ids = list(batch["id"])
        masks = torch.stack([argmax_is(p, 1).cpu() for p in strategy.pass_probabilities(module, images, ids)], dim=1)
        yield from zip(ids, _plain(masks), strict=True)


def _plain(tensor: torch.Tensor) -> torch.Tensor:
    """A plain tensor view (no copy) of what may be a MONAI ``MetaTensor``, whose per-operation
    metadata handling would slow the estimators' many small operations."""
    return tensor.as_subclass(torch.Tensor)
