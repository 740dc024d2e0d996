"""Uncertainty from several forward passes: MC dropout (BALD and friends) and test-time augmentation.

Each pass gives softmax probabilities ``p_t`` ``(B, C, X, Y, Z)``. Only running sums are kept
per image (:class:`PassStatistics`: ``sum p_t``, ``sum H(p_t)`` and, for the variance,
``sum p_t^2``), so memory does not grow with the number of passes ``N`` nor with the pool.
Voxel measures, in nats:

- ``predictive_entropy``: ``H(mean_t p_t)``, total uncertainty;
- ``expected_entropy``: ``mean_t H(p_t)``, the aleatoric part;
- ``mutual_information`` (BALD): their difference, the disagreement between passes;
  0 when every pass agrees, ``log 2`` for two opposite certain passes of 2 classes;
- ``variance``: ``mean_c var_t p_t[c]``.

Each is reduced to one score per image over the whole volume or, as masked entropy does,
inside the mean prediction's structure dilated by ``margin`` voxels (mean, not sum, so a
larger structure does not score higher by itself). Scores can be weighted by group exactly
like Weighted Entropy (an ``estimator`` and a weight form).

Why not MONAI's ``TestTimeAugmentation``: it keeps every pass's output for each image, so
its memory grows with ``N``; here the passes stream into the sums above.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch import nn

from fair_seg_al.estimation import GroupPerformanceEstimator
from fair_seg_al.strategies.base import Strategy, voxel_entropy
from fair_seg_al.strategies.composition import Composition
from fair_seg_al.strategies.entropy import check_roi_args, dilate_cube, roi_mean
from fair_seg_al.strategies.weights import GroupWeighting
from fair_seg_al.utils.io import stable_hash

MEASURES = ("predictive_entropy", "expected_entropy", "mutual_information", "variance")
REDUCTIONS = ("roi", "volume")


class PassStatistics:
    """Running sums over passes of one batch's probabilities (memory flat in the number of passes)."""

    def __init__(self, keep_squares: bool = False) -> None:
        self.n = 0
        self.sum_p: torch.Tensor | None = None
        self.sum_h: torch.Tensor | None = None
        self.sum_p2: torch.Tensor | None = None
        self.keep_squares = keep_squares

    def add(self, probs: torch.Tensor) -> None:
        probs = probs.float()
        h = voxel_entropy(probs)
        if self.sum_p is None:
            self.sum_p, self.sum_h = probs.clone(), h
            self.sum_p2 = probs.square() if self.keep_squares else None
        else:
            self.sum_p += probs
            self.sum_h += h
            if self.keep_squares:
                self.sum_p2 += probs.square()
        self.n += 1

    def mean(self) -> torch.Tensor:
        return self.sum_p / self.n

    def measure(self, name: str) -> torch.Tensor:
        """Voxel map ``(B, X, Y, Z)`` of ``name`` (one of :data:`MEASURES`)."""
        if self.n == 0:
            raise ValueError("no passes were added")
        if name == "predictive_entropy":
            return voxel_entropy(self.mean())
        if name == "expected_entropy":
            return self.sum_h / self.n
        if name == "mutual_information":  # >= 0 by concavity of H; clamp float rounding
            return (voxel_entropy(self.mean()) - self.sum_h / self.n).clamp_min(0)
        if name == "variance":
            if self.sum_p2 is None:
                raise ValueError("variance needs keep_squares=True")
            return (self.sum_p2 / self.n - self.mean().square()).clamp_min(0).mean(dim=1)
        raise ValueError(f"measure must be one of {MEASURES}, got {name!r}")


def measure_bound(name: str, classes: int) -> float:
    """The largest value of a voxel measure (the ``empty_roi="max"`` score)."""
    return 1.0 / 4.0 if name == "variance" else math.log(classes)


def batch_seed(seed: int, ids) -> int:
    """A seed from the strategy's seed and the batch's image ids: the same batches get the same
    random passes (the scoring loader's batches are fixed: ordered ids, fixed batch size)."""
    return int(stable_hash([int(seed), [str(i) for i in ids]], length=15), 16)


class MultiPassStrategy(GroupWeighting, Strategy):
    """Base of the strategies that score from ``passes`` forward passes per image.

    Args:
        passes: forward passes per image (N).
        measure: one of :data:`MEASURES`.
        reduction: ``"roi"`` (mean inside the mean prediction's structure dilated by
            ``margin``) or ``"volume"`` (mean over the whole volume).
        margin, foreground, empty_roi: the ROI, as in masked entropy.
        seed: seeds the random passes (with the batch's image ids).
        estimator: group-performance estimator; given, scores are weighted by group as in
            Weighted Entropy (``weight_form``, ``temperature``, ``weight_floor``); None: unweighted.
        composition: how the batch is drawn (default top-k).
    """

    name = "multi_pass"
    caches_scores = True  # N passes per image: never score the same images with the same model twice

    def __init__(
        self,
        passes: int = 8,
        measure: str = "mutual_information",
        reduction: str = "roi",
        margin: int = 2,
        foreground: int = 1,
        empty_roi: str = "max",
        seed: int = 0,
        estimator: GroupPerformanceEstimator | None = None,
        weight_form: str = "one_minus_dice",
        temperature: float = 0.1,
        weight_floor: float = 0.1,
        composition: Composition | None = None,
    ) -> None:
        super().__init__(composition)
        if passes < 1:
            raise ValueError(f"passes must be >= 1, got {passes}")
        if measure not in MEASURES:
            raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        check_roi_args(margin, empty_roi)
        self.passes, self.measure, self.reduction = int(passes), measure, reduction
        self.margin, self.foreground, self.empty_roi, self.seed = margin, foreground, empty_roi, int(seed)
        self.init_weighting(weight_form, temperature, weight_floor, estimator)

    # ------------------------------------------------------------------ scoring
    def score(self, probs: torch.Tensor) -> torch.Tensor:
        """The score of one pass only (N = 1); the loop calls :meth:`score_batch`."""
        stats = PassStatistics(keep_squares=self.measure == "variance")
        stats.add(probs)
        return self.reduce(stats)

    def reduce(self, stats: PassStatistics) -> torch.Tensor:
        """One score per image from the passes' statistics."""
        values = stats.measure(self.measure)
        if self.reduction == "volume":
            return values.flatten(1).mean(dim=1)
        mean = stats.mean()
        roi = dilate_cube(mean.argmax(dim=1) == self.foreground, self.margin)
        return roi_mean(values, roi, self.empty_roi, measure_bound(self.measure, mean.shape[1]))

    def score_batch(self, module: nn.Module, images: torch.Tensor, ids) -> torch.Tensor:
        """Scores ``(B,)`` of a batch of images from ``passes`` seeded passes (streamed)."""
        stats = PassStatistics(keep_squares=self.measure == "variance")
        for probs in self.pass_probabilities(module, images, ids):
            stats.add(probs)
        return self.reduce(stats)

    def pass_probabilities(self, module: nn.Module, images: torch.Tensor, ids) -> Iterator[torch.Tensor]:
        """Each pass's probabilities ``(B, C, X, Y, Z)``, seeded by the strategy's seed and the
        batch's ids (the global RNG is restored once every pass has been taken)."""
        with torch.random.fork_rng(devices=[images.device] if images.device.type == "cuda" else []):
            torch.manual_seed(batch_seed(self.seed, ids))
            with self.passes_mode(module):
                for t in range(self.passes):
                    yield self.one_pass(module, images, t)

    def passes_mode(self, module: nn.Module):
        """Context in which the passes run (the module is already in eval mode)."""
        return nullcontext()

    def one_pass(self, module: nn.Module, images: torch.Tensor, t: int) -> torch.Tensor:
        raise NotImplementedError


class MCDropoutStrategy(MultiPassStrategy):
    """MC dropout (Gal et al. 2017): ``passes`` forward passes with the network's dropout layers
    active and everything else in eval mode. Needs a network with dropout
    (``model.net.dropout > 0``). The default measure is BALD (mutual information)."""

    name = "mc_dropout"
    needs_dropout = True

    def passes_mode(self, module: nn.Module):
        return dropout_active(module)

    def one_pass(self, module: nn.Module, images: torch.Tensor, t: int) -> torch.Tensor:
        return module.probabilities(images)


class dropout_active:  # noqa: N801 - a context manager, used like a function
    """Dropout layers in train mode for the block, the rest of the module untouched.

    Raises:
        ValueError: the module has no dropout with p > 0 (MC dropout would be N identical passes).
    """

    def __init__(self, module: nn.Module) -> None:
        self.layers = [m for m in module.modules() if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0]
        if not self.layers:
            raise ValueError("MC dropout needs dropout in the network: set model.net.dropout > 0 (e.g. 0.1)")

    def __enter__(self) -> None:
        self.before = [m.training for m in self.layers]
        for m in self.layers:
            m.train()

    def __exit__(self, *exc) -> None:
        for m, was in zip(self.layers, self.before, strict=True):
            m.train(was)


class TTAStrategy(MultiPassStrategy):
    """Test-time augmentation: pass 0 is the image as it is; each other pass applies a random
    intensity change (``x * scale + shift``) and a small random affine (rotation up to
    ``max_rotation_deg`` about each axis, isotropic scaling up to ``max_scale``), predicts, and
    maps the prediction back with the inverse affine. No flips: the structure is lateralised.
    The default measure is ``variance``; ``mutual_information`` is the entropy-based
    disagreement.

    Args:
        max_rotation_deg: largest rotation about each axis, in degrees.
        max_scale: largest relative change of size (0.1: 0.9-1.1).
        intensity_scale, intensity_shift: largest relative scale and absolute shift of the
            (normalised) intensities.
    """

    name = "tta"

    def __init__(
        self,
        passes: int = 8,
        measure: str = "variance",
        max_rotation_deg: float = 5.0,
        max_scale: float = 0.05,
        intensity_scale: float = 0.1,
        intensity_shift: float = 0.1,
        **kwargs,
    ) -> None:
        super().__init__(passes=passes, measure=measure, **kwargs)
        if max_rotation_deg < 0 or not 0 <= max_scale < 1 or intensity_scale < 0 or intensity_shift < 0:
            raise ValueError("max_rotation_deg, intensity_scale and intensity_shift must be >= 0, max_scale in [0, 1)")
        self.max_rotation_deg, self.max_scale = float(max_rotation_deg), float(max_scale)
        self.intensity_scale, self.intensity_shift = float(intensity_scale), float(intensity_shift)

    def one_pass(self, module: nn.Module, images: torch.Tensor, t: int) -> torch.Tensor:
        if t == 0:
            return module.probabilities(images)
        b = images.shape[0]
        u = lambda *shape: torch.rand(*shape) * 2 - 1  # noqa: E731 - uniform in [-1, 1], from the seeded generator
        scale = 1 + self.intensity_scale * u(b, 1, 1, 1, 1)
        shift = self.intensity_shift * u(b, 1, 1, 1, 1)
        matrix = random_affines(b, self.max_rotation_deg, self.max_scale, u)
        moved = warp(images * scale.to(images) + shift.to(images), matrix.to(images))
        return warp(module.probabilities(moved), torch.linalg.inv(matrix).to(images))


def random_affines(b: int, max_rotation_deg: float, max_scale: float, u) -> torch.Tensor:
    """``(B, 3, 3)`` rotation-and-scaling matrices about the volume centre."""
    angles = torch.deg2rad(torch.as_tensor(max_rotation_deg)) * u(b, 3)
    out = torch.eye(3).repeat(b, 1, 1)
    for axis in range(3):
        c, s = torch.cos(angles[:, axis]), torch.sin(angles[:, axis])
        i, j = [k for k in range(3) if k != axis]
        rot = torch.eye(3).repeat(b, 1, 1)
        rot[:, i, i], rot[:, i, j], rot[:, j, i], rot[:, j, j] = c, -s, s, c
        out = rot @ out
    return out * (1 + max_scale * u(b, 1, 1))


def warp(volumes: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Resample ``(B, C, X, Y, Z)`` volumes under ``(B, 3, 3)`` linear maps of normalised
    coordinates about the centre (trilinear, border values outside)."""
    # affine_grid's coordinates are (x, y, z) = (W, H, D), i.e. our (Z, Y, X): reverse the axes
    flip = torch.eye(3, dtype=matrix.dtype, device=matrix.device).flip(0)
    zeros = torch.zeros(matrix.shape[0], 3, 1, dtype=matrix.dtype, device=matrix.device)
    theta = torch.cat([flip @ matrix @ flip, zeros], dim=2)
    grid = F.affine_grid(theta, list(volumes.shape), align_corners=False)
    return F.grid_sample(volumes, grid, mode="bilinear", padding_mode="border", align_corners=False)
