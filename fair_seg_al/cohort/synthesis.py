"""Images from label maps, SynthSeg-style (Billot et al., Medical Image Analysis 2023).

A real anatomy without a T1 (:mod:`~fair_seg_al.cohort.anatomies`) still gives training images:
each label gets an intensity drawn per subject (a Gaussian per label, so every subject has its
own contrast), then a smooth bias field, blur and noise. TorchIO does the work
(``RandomLabelsToImage``, ``RandomBiasField``, ``RandomBlur``, ``RandomNoise``); this module
fixes the order, the ranges and the seeding, so the same seed gives the same image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torchio as tio


@dataclass
class ContrastSpec:
    """Ranges each subject's synthetic contrast is drawn from (TorchIO's parameter conventions).

    Attributes:
        mean: range of a label's mean intensity.
        std: range of a label's within-label standard deviation.
        bias_field: ``coefficients`` of the polynomial bias field (0: none).
        blur_mm: range of the Gaussian blur's standard deviation in mm (0: none).
        noise_std: range of the Gaussian noise's standard deviation (0: none).
        background_mean: range for label 0 (null: ``mean``, as SynthSeg draws it).
        interior_mean: range for the :data:`~fair_seg_al.cohort.anatomies.INTERIOR` label, what
            is left unlabeled inside a map that labels grey matter only once its ventricles and
            white matter are named (null: ``mean``).
        csf_mean: range for :data:`~fair_seg_al.cohort.anatomies.VENTRICLE` (ventricles, CSF;
            null: ``interior_mean``, the one bright interior of cohorts before it existed).
        white_matter_mean: range for :data:`~fair_seg_al.cohort.anatomies.WHITE_MATTER` (null:
            ``interior_mean``). With all set, the contrast keeps a T1-like order (air, CSF <
            grey matter < white matter) while each structure's intensity still varies per subject.
    """

    mean: list[float] = field(default_factory=lambda: [0.1, 0.9])
    std: list[float] = field(default_factory=lambda: [0.01, 0.05])
    bias_field: float = 0.3
    blur_mm: list[float] = field(default_factory=lambda: [0.0, 0.5])
    noise_std: list[float] = field(default_factory=lambda: [0.0, 0.03])
    background_mean: list[float] | None = None
    interior_mean: list[float] | None = None
    csf_mean: list[float] | None = None
    white_matter_mean: list[float] | None = None

    def __post_init__(self) -> None:
        optional = ("background_mean", "interior_mean", "csf_mean", "white_matter_mean")
        for name in ("mean", "std", "blur_mm", "noise_std", *optional):
            value = getattr(self, name)
            if value is None and name in optional:
                continue
            if len(value) != 2 or not 0 <= value[0] <= value[1]:
                raise ValueError(f"contrast.{name}: needs 0 <= low <= high, got {tuple(value)}")
        if self.bias_field < 0:
            raise ValueError(f"contrast.bias_field: must be >= 0, got {self.bias_field}")

    def mean_ranges(self, values: np.ndarray) -> list[tuple[float, float]] | None:
        """The ``mean`` range of each label in ``values`` (sorted label values), or None when
        every label draws from ``mean``."""
        from fair_seg_al.cohort.anatomies import INTERIOR, VENTRICLE, WHITE_MATTER

        interior = self.interior_mean
        special = {
            0: self.background_mean,
            INTERIOR: interior,
            VENTRICLE: self.csf_mean or interior,
            WHITE_MATTER: self.white_matter_mean or interior,
        }
        if all(v is None for v in special.values()):
            return None
        return [tuple(special.get(int(v)) or self.mean) for v in values]


def synthesize_image(labels: np.ndarray, affine: np.ndarray, spec: ContrastSpec, seed: int) -> np.ndarray:
    """A float32 image of ``labels``' shape: per-label Gaussian intensities, then bias field,
    blur and noise, all drawn from ``seed`` (the global torch RNG is left as it was)."""
    # TorchIO indexes its per-label ranges by label value and wants every value present: number
    # the labels 0..K-1 in sorted order (the same draws, in the same order, as the raw values).
    values, compact = np.unique(labels, return_inverse=True)
    compact = compact.reshape(labels.shape)
    subject = tio.Subject(labels=tio.LabelMap(tensor=torch.as_tensor(compact[None].astype(np.int64)), affine=affine))
    steps = [
        tio.RandomLabelsToImage(
            label_key="labels",
            image_key="image",
            mean=spec.mean_ranges(values),
            default_mean=tuple(spec.mean),
            default_std=tuple(spec.std),
        )
    ]
    if spec.bias_field > 0:
        steps.append(tio.RandomBiasField(coefficients=spec.bias_field))
    if spec.blur_mm[1] > 0:
        steps.append(tio.RandomBlur(std=tuple(spec.blur_mm)))
    if spec.noise_std[1] > 0:
        steps.append(tio.RandomNoise(mean=0.0, std=tuple(spec.noise_std)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed % 2**63)
        out = tio.Compose(steps)(subject)
    return out["image"].data[0].numpy().astype(np.float32)
