"""Preprocessing: every subject, whatever its shape, spacing and orientation, onto one grid.

MONAI dictionary transforms, in this order (``data.preprocess``, conf/data/default.yaml):

1. load the image and label (NIfTI, any dtype) and choose the structure (``label_values``);
2. reorient to ``orientation`` (default RAS; null keeps each file's own);
3. resample to ``spacing`` mm (image linear, label nearest; null keeps each file's own, and
   then every subject must share one spacing, checked before any work);
4. crop: ``none``; ``foreground`` (the image's non-zero box plus ``margin`` voxels);
   ``label_centre`` (a ``size`` box around the structure's centre: it reads the label of
   every image, unlabeled pool and test images included, which only fits a fixed anatomical
   ROI such as the paper's); or ``world_box`` (a ``size`` box around ``center_mm`` in world
   coordinates, for data registered to a template: reads no label);
5. z-normalise the image over the box (TorchIO ``ZNormalization``, as the synthetic data always was).

The datamodule then pads every subject to one shape, divisible by what the network needs
(``pad_to_common``), with each image's own minimum. Metrics are computed on this grid, not on
the original images.

The synthetic cohort takes the same path: it is RAS, one spacing and one shape already, so
with the defaults every step leaves its voxels exactly as they are (tested).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torchio as tio
from monai.transforms import (
    Compose,
    CropForegroundd,
    EnsureChannelFirstd,
    LoadImaged,
    MapTransform,
    Orientationd,
    Spacingd,
    SpatialCropd,
    SpatialPadd,
)

from fair_seg_al.utils.io import stable_hash

CROP_MODES = ("none", "foreground", "label_centre", "world_box")


@dataclass(frozen=True)
class Preprocessing:
    """``data.preprocess`` (see the module docstring)."""

    orientation: str | None = "RAS"
    spacing: tuple[float, float, float] | None = None
    crop: str = "none"
    size: tuple[int, int, int] | None = None
    center_mm: tuple[float, float, float] | None = None
    margin: int = 2

    def __post_init__(self) -> None:
        if self.crop not in CROP_MODES:
            raise ValueError(f"crop must be one of {list(CROP_MODES)}, got {self.crop!r}")
        if self.crop in ("label_centre", "world_box") and (self.size is None or len(self.size) != 3):
            raise ValueError(f"crop={self.crop} needs size: three voxel counts, e.g. [24, 32, 32]")
        if self.crop == "world_box" and (self.center_mm is None or len(self.center_mm) != 3):
            raise ValueError("crop=world_box needs center_mm: the box centre in world mm, e.g. [-13, 12, 10]")
        if self.spacing is not None and (len(self.spacing) != 3 or min(self.spacing) <= 0):
            raise ValueError(f"spacing must be three positive voxel sizes in mm (or null), got {self.spacing}")
        if self.orientation is not None and (
            len(self.orientation) != 3 or set(self.orientation.upper()) - set("RLAPSI")
        ):
            raise ValueError(f"orientation must be three axis codes such as RAS (or null), got {self.orientation!r}")

    @classmethod
    def from_config(cls, cfg: Mapping | None) -> Preprocessing:
        cfg = dict(cfg or {})
        crop = dict(cfg.get("crop") or {})

        def triple(v, cast):
            return None if v is None else tuple(cast(x) for x in ([v] * 3 if isinstance(v, int | float) else v))

        return cls(
            orientation=cfg.get("orientation", "RAS"),
            spacing=triple(cfg.get("spacing"), float),
            crop=str(crop.get("mode", "none")),
            size=triple(crop.get("size"), int),
            center_mm=triple(crop.get("center_mm"), float),
            margin=int(crop.get("margin", 2)),
        )

    @property
    def key(self) -> str:
        """Identifies the preprocessing (part of the cache key of its results)."""
        return stable_hash(self.__dict__)

    @property
    def resamples(self) -> bool:
        return self.spacing is not None

    def transform(self, label_values: Sequence[int] | None = None) -> Compose:
        """``{"image": path, "label": path}`` -> ``{"image": (1, X, Y, Z) float32, "label": (1, X, Y, Z) uint8}``."""
        keys = ["image", "label"]
        steps = [
            LoadImaged(keys, reader="NibabelReader", image_only=True, dtype=None),
            EnsureChannelFirstd(keys, channel_dim="no_channel"),
            SelectStructured("label", label_values),
        ]
        if self.orientation:
            steps.append(Orientationd(keys, axcodes=self.orientation.upper(), labels=None))
        if self.spacing:
            steps.append(Spacingd(keys, pixdim=self.spacing, mode=("bilinear", "nearest")))
        if self.crop == "foreground":
            steps.append(CropForegroundd(keys, source_key="image", margin=self.margin, allow_smaller=True))
        elif self.crop in ("label_centre", "world_box"):
            steps.append(CropAroundd(keys, self.size, self.center_mm if self.crop == "world_box" else None))
            steps.append(SpatialPadd(keys, spatial_size=self.size))  # a box that reached past the volume
        steps.append(Finalised(keys))
        return Compose(steps)


class SelectStructured(MapTransform):
    """The structure as a 0/1 mask: the chosen ``label_values``, or a binary label as it is."""

    def __init__(self, key: str, label_values: Sequence[int] | None) -> None:
        super().__init__([key])
        self.values = list(label_values) if label_values else None

    def __call__(self, data):
        d = dict(data)
        for k in self.keys:
            lab = d[k]
            d[k] = torch.isin(lab, torch.as_tensor(self.values, dtype=lab.dtype)).to(lab.dtype) if self.values else lab
        return d


class CropAroundd(MapTransform):
    """A ``size`` box around the label's centre, or around ``center_mm`` in world coordinates."""

    def __init__(self, keys, size: Sequence[int], center_mm: Sequence[float] | None) -> None:
        super().__init__(keys)
        self.size, self.center_mm = tuple(size), center_mm

    def __call__(self, data):
        d = dict(data)
        if self.center_mm is None:
            mask = torch.as_tensor(d["label"])[0] > 0
            if not mask.any():
                raise ValueError("crop=label_centre: the label is empty")
            centre = [int(round(float(c))) for c in torch.nonzero(mask).float().mean(0)]
        else:
            affine = np.asarray(d["image"].affine, dtype=float)
            voxel = np.linalg.solve(affine, np.array([*self.center_mm, 1.0]))[:3]
            centre = [int(math.floor(v + 0.5)) for v in voxel]
        return SpatialCropd(self.keys, roi_center=centre, roi_size=self.size)(d)


class Finalised(MapTransform):
    """Plain tensors: the image z-normalised (TorchIO, over the box), the label uint8."""

    def __call__(self, data):
        d = dict(data)
        image = torch.as_tensor(d["image"]).float().contiguous()
        d["image"] = tio.ZNormalization()(tio.ScalarImage(tensor=image)).data.contiguous()
        d["label"] = torch.as_tensor(d["label"]).to(torch.uint8).contiguous()
        return d


def common_shape(shapes: Sequence[Sequence[int]], divisor: int) -> tuple[int, ...]:
    """The smallest shape that holds every one of ``shapes`` and is divisible by ``divisor``."""
    top = np.max(np.asarray(shapes), axis=0)
    return tuple(int(math.ceil(s / divisor) * divisor) for s in top)


def pad_to(image: torch.Tensor, label: torch.Tensor, shape: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad ``(1, X, Y, Z)`` image and label symmetrically to ``shape``: the image with its own
    minimum (background), the label with 0. Already that shape: returned as they are."""
    if tuple(image.shape[1:]) == tuple(shape):
        return image, label
    pads = []
    for have, want in reversed(list(zip(image.shape[1:], shape, strict=True))):
        extra = want - have
        if extra < 0:
            raise ValueError(f"cannot pad shape {tuple(image.shape[1:])} to the smaller {tuple(shape)}")
        pads += [extra // 2, extra - extra // 2]
    image = torch.nn.functional.pad(image, pads, value=float(image.min()))
    label = torch.nn.functional.pad(label, pads, value=0)
    return image.contiguous(), label.contiguous()


def check_grids(records, preprocessing: Preprocessing) -> list[str]:
    """What preprocessing cannot reconcile: with ``spacing: null`` every subject must share the
    first subject's voxel size (and with ``orientation: null`` its axis order). One problem per
    subject, naming it. Reads headers only."""
    import nibabel as nib

    problems, first = [], None
    for rec in records:
        affine = nib.load(rec.image).affine
        zooms = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
        if preprocessing.orientation is not None:  # compare voxel sizes in the axis order they will have
            ornt = nib.orientations.io_orientation(affine)
            reordered = np.empty(3)
            reordered[ornt[:, 0].astype(int)] = zooms
            zooms = reordered
        zooms = tuple(round(float(z), 3) for z in zooms)
        axes = "".join(nib.aff2axcodes(affine))
        if first is None:
            first = (rec.subject_id, zooms, axes)
            continue
        if preprocessing.spacing is None and not np.allclose(zooms, first[1], atol=1e-2):
            problems.append(
                f"subject {rec.subject_id}: voxel size {zooms} mm differs from {first[1]} of {first[0]} "
                "(resample with data/preprocess=resample or data.preprocess.spacing=MM)"
            )
        elif preprocessing.orientation is None and axes != first[2]:
            problems.append(
                f"subject {rec.subject_id}: orientation {axes} differs from {first[2]} of {first[0]} "
                "(reorient with data.preprocess.orientation=RAS)"
            )
    return problems
