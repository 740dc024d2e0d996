"""Training augmentation applied to a whole batch as tensors, on the device the model is on.

The same transforms, parameter ranges and probabilities as the TorchIO pipeline
(:func:`fair_seg_al.data.datamodule.build_augmentation`: ``RandomAffine``, ``RandomGamma``,
``RandomNoise``), but one ``affine_grid``/``grid_sample`` call for the batch instead of a
resampling per sample on the CPU. Parameters are drawn first (:meth:`BatchAugmentation.sample`,
from an explicit generator, on the CPU so that a seed gives the same draws on any device),
then applied by a deterministic function (:meth:`BatchAugmentation.apply`), as TorchIO does.

Per sample, independently:

- affine with probability ``p_affine``: scale ``U(1 - scales, 1 + scales)``, rotation
  ``U(-degrees, degrees)`` and translation ``U(-translation, translation)`` mm, per axis, about
  the volume's centre, in physical space (the voxel ``spacing``); image trilinear, padded with
  its minimum; label nearest (as TorchIO resamples a ``LabelMap``), padded with 0. No flips:
  the structure is lateralised;
- gamma with probability ``p_gamma``: ``x <- sign(x) |x|^g``, ``g = exp(U(-log_gamma, log_gamma))``;
- noise with probability ``p_noise``: ``x <- x + N(0, s^2)``, ``s = U(0, noise_std)``.

>>> aug = BatchAugmentation(p_affine=0.0, p_gamma=0.0, p_noise=0.0)
>>> x, y = torch.randn(2, 1, 4, 4, 4), torch.zeros(2, 1, 4, 4, 4, dtype=torch.long)
>>> xa, ya = aug(x, y, torch.Generator().manual_seed(0))
>>> bool(torch.equal(xa, x) and torch.equal(ya, y))
True
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

IMPLEMENTATIONS = ("batched", "torchio")

#: How the batched path resamples a label. ``nearest`` keeps each structure's volume in
#: expectation, whatever its size or shape. ``linear_threshold`` (trilinear, cut at 0.5) was the
#: default before issue #32: it erodes every structure, small and thin ones most (a 40-subject
#: strong cohort kept A 0.974 and B 0.912 of its caudate volume; a one-voxel rod 0.59), so it
#: made group B's training labels smaller than A's. It stays only to reproduce the cells that
#: trained with it, and as the pipeline audit's known-bad control.
LABEL_INTERPOLATIONS = ("nearest", "linear_threshold")


def rotation_matrices(angles_deg: torch.Tensor) -> torch.Tensor:
    """``(B, 3)`` angles about the three axes, in degrees -> ``(B, 3, 3)`` rotations ``Rz Ry Rx``."""
    a = torch.deg2rad(angles_deg)
    c, s = torch.cos(a), torch.sin(a)
    one, zero = torch.ones_like(c[:, 0]), torch.zeros_like(c[:, 0])
    rx = torch.stack([one, zero, zero, zero, c[:, 0], -s[:, 0], zero, s[:, 0], c[:, 0]], 1).view(-1, 3, 3)
    ry = torch.stack([c[:, 1], zero, s[:, 1], zero, one, zero, -s[:, 1], zero, c[:, 1]], 1).view(-1, 3, 3)
    rz = torch.stack([c[:, 2], -s[:, 2], zero, s[:, 2], c[:, 2], zero, zero, zero, one], 1).view(-1, 3, 3)
    return rz @ ry @ rx


class BatchAugmentation:
    """Random affine, gamma and noise for a ``(B, 1, X, Y, Z)`` batch and its labels.

    Args:
        scales, degrees, translation: the affine's ranges (fraction, degrees, mm), per axis.
        spacing: voxel size in mm (translation and rotation act in physical space).
        p_affine, p_gamma, p_noise: the probability of each transform, per sample.
        log_gamma: gamma is ``exp(U(-log_gamma, log_gamma))``.
        noise_std: the noise's standard deviation is ``U(0, noise_std)``.
        label_interpolation: ``nearest`` (default) or ``linear_threshold`` (eroding; see
            :data:`LABEL_INTERPOLATIONS`).

    Raises:
        ValueError: a probability outside [0, 1], a negative range or an unknown interpolation.
    """

    def __init__(
        self,
        scales: float = 0.05,
        degrees: float = 5.0,
        translation: float = 2.0,
        spacing: Sequence[float] = (1.0, 1.0, 1.0),
        p_affine: float = 0.5,
        log_gamma: float = 0.1,
        p_gamma: float = 0.3,
        noise_std: float = 0.05,
        p_noise: float = 0.3,
        label_interpolation: str = "nearest",
    ) -> None:
        if label_interpolation not in LABEL_INTERPOLATIONS:
            raise ValueError(
                f"label_interpolation must be one of {list(LABEL_INTERPOLATIONS)}, got {label_interpolation!r}"
            )
        for name, p in (("p_affine", p_affine), ("p_gamma", p_gamma), ("p_noise", p_noise)):
            if not 0 <= p <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {p}")
        for name, v in (("scales", scales), ("degrees", degrees), ("translation", translation)):
            if v < 0:
                raise ValueError(f"{name} must be >= 0, got {v}")
        if log_gamma < 0 or noise_std < 0:
            raise ValueError(f"log_gamma and noise_std must be >= 0, got {log_gamma}, {noise_std}")
        if scales >= 1:
            raise ValueError(f"scales must be < 1 (a scale factor of 1 - scales must stay positive), got {scales}")
        self.scales, self.degrees, self.translation = float(scales), float(degrees), float(translation)
        self.spacing = tuple(float(s) for s in spacing)
        self.p_affine, self.p_gamma, self.p_noise = float(p_affine), float(p_gamma), float(p_noise)
        self.log_gamma, self.noise_std = float(log_gamma), float(noise_std)
        self.label_interpolation = label_interpolation

    def sample(self, n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Every random parameter of ``n`` samples, drawn on the CPU from ``generator``."""

        def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
            return low + (high - low) * torch.rand(*shape, generator=generator, dtype=torch.float64)

        return {
            "affine": torch.rand(n, generator=generator) < self.p_affine,
            "scale": uniform(1 - self.scales, 1 + self.scales, n, 3),
            "angles": uniform(-self.degrees, self.degrees, n, 3),
            "shift_mm": uniform(-self.translation, self.translation, n, 3),
            "gamma_on": torch.rand(n, generator=generator) < self.p_gamma,
            "gamma": torch.exp(uniform(-self.log_gamma, self.log_gamma, n)),
            "noise_on": torch.rand(n, generator=generator) < self.p_noise,
            "noise_std": uniform(0.0, self.noise_std, n),
            "noise_seed": torch.randint(0, 2**62, (1,), generator=generator),
        }

    def sampling_grid(self, params: dict[str, torch.Tensor], shape: Sequence[int], device) -> torch.Tensor:
        """The ``affine_grid`` of the samples in ``params``: output voxel -> input position."""
        half = torch.tensor([(s - 1) * sp / 2 for s, sp in zip(shape, self.spacing, strict=True)], dtype=torch.float64)
        m = rotation_matrices(params["angles"]) @ torch.diag_embed(params["scale"])  # in mm, axes (X, Y, Z)
        # normalised [-1, 1] coordinates (align_corners=True) -> mm: x_mm = half * u
        theta = torch.diag(1 / half) @ m @ torch.diag(half)
        shift = params["shift_mm"] / half
        # affine_grid's coordinates run (W, H, D) = (Z, Y, X): reverse the axes
        rev = [2, 1, 0]
        theta = torch.cat([theta[:, rev][:, :, rev], shift[:, rev].unsqueeze(-1)], dim=2)
        return F.affine_grid(theta.float().to(device), [len(theta), 1, *shape], align_corners=True)

    def apply(
        self, image: torch.Tensor, label: torch.Tensor, params: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The transforms with the given parameters (deterministic): ``(B, 1, X, Y, Z)`` each.

        Only the samples a transform applies to are computed. The image is resampled
        trilinearly, the label by nearest neighbour on the same grid (or, with
        ``label_interpolation="linear_threshold"``, trilinearly with the image and cut at 0.5).
        """
        device = image.device
        image, label = image.float().clone(), label.clone()
        on = params["affine"].nonzero().flatten()
        if len(on):
            sub = {k: v[on] for k, v in params.items() if k in ("angles", "scale", "shift_mm")}
            grid = self.sampling_grid(sub, image.shape[2:], device)
            idx = on.to(device)
            img = image[idx]
            low = img.flatten(1).amin(dim=1).view(-1, 1, 1, 1, 1)  # pad with each image's minimum
            lab = label[idx].to(img.dtype)
            if self.label_interpolation == "nearest":
                out = F.grid_sample(img - low, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
                lab = F.grid_sample(lab, grid, mode="nearest", padding_mode="zeros", align_corners=True)
            else:  # the eroding pre-#32 scheme: one trilinear pass for both, the label cut at 0.5
                both = F.grid_sample(torch.cat([img - low, lab], 1), grid, "bilinear", "zeros", align_corners=True)
                out, lab = both[:, :1], (both[:, 1:] > 0.5).to(img.dtype)
            image[idx] = out + low
            label[idx] = lab.round().to(label.dtype)
        on = params["gamma_on"].nonzero().flatten()
        if len(on):
            idx = on.to(device)
            g = params["gamma"][on].float().to(device).view(-1, 1, 1, 1, 1)
            x = image[idx]
            image[idx] = x.sign() * x.abs().pow(g)
        on = params["noise_on"].nonzero().flatten()
        if len(on):
            idx = on.to(device)
            gen = torch.Generator(device=device).manual_seed(int(params["noise_seed"]))
            noise = torch.randn((len(on), *image.shape[1:]), generator=gen, device=device, dtype=image.dtype)
            image[idx] = image[idx] + params["noise_std"][on].float().to(device).view(-1, 1, 1, 1, 1) * noise
        return image, label

    def __call__(
        self, image: torch.Tensor, label: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.apply(image, label, self.sample(image.shape[0], generator))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"
