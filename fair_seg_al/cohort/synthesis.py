"""Images from label maps, SynthSeg-style (Billot et al., Medical Image Analysis 2023).

A real anatomy without a T1 (:mod:`~fair_seg_al.cohort.anatomies`) still gives training images:
each label gets an intensity drawn per subject (a Gaussian per label, so every subject has its
own contrast), then a smooth bias field, blur and noise. TorchIO does the work
(``RandomLabelsToImage``, ``RandomBiasField``, ``RandomBlur``, ``RandomNoise``); this module
fixes the order, the ranges and the seeding, so the same seed gives the same image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torchio as tio


@dataclass(frozen=True)
class ContrastSpec:
    """Ranges each subject's synthetic contrast is drawn from (TorchIO's parameter conventions).

    Attributes:
        mean: range of a label's mean intensity.
        std: range of a label's within-label standard deviation.
        bias_field: ``coefficients`` of the polynomial bias field (0: none).
        blur_mm: range of the Gaussian blur's standard deviation in mm (0: none).
        noise_std: range of the Gaussian noise's standard deviation (0: none).
    """

    mean: tuple[float, float] = (0.1, 0.9)
    std: tuple[float, float] = (0.01, 0.05)
    bias_field: float = 0.3
    blur_mm: tuple[float, float] = (0.0, 0.5)
    noise_std: tuple[float, float] = (0.0, 0.03)

    def __post_init__(self) -> None:
        for name in ("mean", "std", "blur_mm", "noise_std"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"contrast.{name}: needs 0 <= low <= high, got ({low}, {high})")
        if self.bias_field < 0:
            raise ValueError(f"contrast.bias_field: must be >= 0, got {self.bias_field}")


def synthesize_image(labels: np.ndarray, affine: np.ndarray, spec: ContrastSpec, seed: int) -> np.ndarray:
    """A float32 image of ``labels``' shape: per-label Gaussian intensities, then bias field,
    blur and noise, all drawn from ``seed`` (the global torch RNG is left as it was)."""
    subject = tio.Subject(labels=tio.LabelMap(tensor=torch.as_tensor(labels[None].astype(np.int64)), affine=affine))
    steps = [
        tio.RandomLabelsToImage(label_key="labels", image_key="image", default_mean=spec.mean, default_std=spec.std)
    ]
    if spec.bias_field > 0:
        steps.append(tio.RandomBiasField(coefficients=spec.bias_field))
    if spec.blur_mm[1] > 0:
        steps.append(tio.RandomBlur(std=spec.blur_mm))
    if spec.noise_std[1] > 0:
        steps.append(tio.RandomNoise(mean=0.0, std=spec.noise_std))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed % 2**63)
        out = tio.Compose(steps)(subject)
    return out["image"].data[0].numpy().astype(np.float32)
