"""The pipeline's stages, run on one subject at a time and measured before and after.

Stages, in the order a training image meets them (each audited only where the pipeline has it):

- ``reorient``, ``resample``, ``crop``, ``normalise``: ``data.preprocess`` (MONAI), step by step
  from the subject's files; compared in world millimetres, so a change of grid is no distortion;
- ``pad``: every volume padded to the cohort's one shape;
- ``patches``: a training patch centred on the structure (``data.patch_size``): how much of the
  label it holds;
- ``augmentation``: ``data.augmentation`` with its affine on every draw (its gamma and noise as
  configured), label volume measured against the volume the draw's scaling should give;
- ``stitching``: sliding-window inference (``model.roi_size``) with a perfect predictor (the
  label's one-hot), so any change is the stitcher's.

Per subject and draw, a :class:`StageRow`: label volume before and after (mm³) and their ratio,
connected parts (26-connected) before and after, the largest part's share after, the mean
symmetric boundary displacement (mm), and the structure's contrast against a 2-voxel shell
around it, before and after.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torchio as tio
from scipy import ndimage
from scipy.spatial import cKDTree

from fair_seg_al.cohort.checks import components, shell
from fair_seg_al.data.augmentation import BatchAugmentation
from fair_seg_al.data.datamodule import ALDataModule, PatchSampler, build_augmentation, build_batch_augmentation
from fair_seg_al.data.preprocess import pad_to

#: The stages in pipeline order (a stage a pipeline lacks is reported as not audited).
STAGES = ("reorient", "resample", "crop", "normalise", "pad", "patches", "augmentation", "stitching")


@dataclass(frozen=True)
class Grid:
    """One subject's image and label on a voxel grid: ``(X, Y, Z)`` arrays and voxel -> world (mm)."""

    image: np.ndarray
    label: np.ndarray
    affine: np.ndarray

    @classmethod
    def from_tensors(cls, image, label, affine) -> Grid:
        image = np.asarray(torch.as_tensor(image).detach().cpu().float())
        label = np.asarray(torch.as_tensor(label).detach().cpu()) > 0
        return cls(image.reshape(image.shape[-3:]), label.reshape(label.shape[-3:]), np.asarray(affine, dtype=float))

    @property
    def voxel_mm3(self) -> float:
        return float(abs(np.linalg.det(self.affine[:3, :3])))

    @property
    def volume_mm3(self) -> float:
        return float(self.label.sum()) * self.voxel_mm3

    def surface_mm(self) -> np.ndarray:
        """World coordinates (mm) of the label's boundary voxels, ``(N, 3)``."""
        return to_world(self.affine, boundary_voxels(self.label))


@dataclass
class StageRow:
    """What one stage did to one subject's label and image in one draw."""

    stage: str
    subject: str
    group: str
    draw: int
    in_use: bool  #: the stage is part of the configured pipeline (else audited as offered)
    volume_before_mm3: float
    volume_after_mm3: float
    expected_factor: float  #: the volume change the stage means to make (an augmentation's scaling), else 1
    parts_before: int
    parts_after: int
    largest_after: float
    displacement_mm: float
    contrast_before: float
    contrast_after: float

    @property
    def volume_ratio(self) -> float:
        """Label volume after / (before x the intended factor): 1 for a stage that keeps the label."""
        denominator = self.volume_before_mm3 * self.expected_factor
        return self.volume_after_mm3 / denominator if denominator > 0 else float("nan")


def boundary_voxels(label: np.ndarray) -> np.ndarray:
    """Indices ``(N, 3)`` of the label's voxels with a 6-neighbour outside it."""
    label = np.asarray(label, dtype=bool)
    return np.argwhere(label & ~ndimage.binary_erosion(label, border_value=0)).astype(float)


def to_world(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ affine[:3, :3].T + affine[:3, 3]


def mean_surface_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean symmetric distance between two point sets ``(N, 3)``: the average of each set's mean
    distance to the other's nearest point (nan when either is empty).

    >>> a = np.array([[0.0, 0, 0], [1, 0, 0]])
    >>> mean_surface_distance(a, a + [0, 0, 2])
    2.0
    """
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    ab = cKDTree(b).query(a)[0].mean()
    ba = cKDTree(a).query(b)[0].mean()
    return float((ab + ba) / 2)


def contrast(image: np.ndarray, label: np.ndarray) -> float:
    """(mean in the label - mean in a 2-voxel shell around it) / the image's SD: the structure's
    contrast against its surroundings, unchanged by a linear intensity rescaling (nan if empty)."""
    label = np.asarray(label, dtype=bool)
    around = shell(label, 2)
    sd = float(image.std())
    if not label.any() or not around.any() or sd == 0:
        return float("nan")
    return float((image[label].mean() - image[around].mean()) / sd)


def compare(
    stage: str,
    subject: str,
    group: str,
    before: Grid,
    after: Grid,
    draw: int = 0,
    in_use: bool = True,
    expected_factor: float = 1.0,
    after_surface_mm: np.ndarray | None = None,
    displacement: bool = True,
) -> StageRow:
    """A :class:`StageRow` from a subject's grid before and after a stage.

    Args:
        after_surface_mm: the after-label's boundary in the *before* grid's world (a stage that
            moves the volume on purpose, such as an augmentation's affine, maps it back so that
            only the resampling's own displacement remains); default: ``after``'s own world.
        displacement: False where a boundary distance means nothing (a crop of a patch).
    """
    after_parts = components(after.label)
    if not displacement:
        distance = float("nan")
    else:
        surface = after.surface_mm() if after_surface_mm is None else after_surface_mm
        distance = mean_surface_distance(before.surface_mm(), surface)
    return StageRow(
        stage=stage,
        subject=subject,
        group=group,
        draw=draw,
        in_use=in_use,
        volume_before_mm3=before.volume_mm3,
        volume_after_mm3=after.volume_mm3,
        expected_factor=float(expected_factor),
        parts_before=int(len(components(before.label))),
        parts_after=int(len(after_parts)),
        largest_after=float(after_parts[0] / after_parts.sum()) if len(after_parts) else float("nan"),
        displacement_mm=distance,
        contrast_before=contrast(before.image, before.label),
        contrast_after=contrast(after.image, after.label),
    )


# --------------------------------------------------------------------------- preprocessing


_STEP_STAGE = {
    "Orientationd": "reorient",
    "Spacingd": "resample",
    "CropForegroundd": "crop",
    "CropAroundd": "crop",
    "SpatialPadd": "crop",
    "Finalised": "normalise",
}


def _as_grid(d: Mapping, affine: np.ndarray | None) -> Grid:
    image = d["image"]
    affine = np.asarray(getattr(image, "affine", affine), dtype=float)
    return Grid.from_tensors(image, d["label"], affine)


def preprocessing_grids(dm: ALDataModule, record) -> Iterator[tuple[str, Grid, Grid]]:
    """``(stage, before, after)`` for each preprocessing stage, run step by step from the files."""
    steps = list(dm.preprocessing.transform(dm.label_values).transforms)
    load, rest = steps[:3], steps[3:]  # LoadImaged, EnsureChannelFirstd, SelectStructured
    d = {"image": str(record.image), "label": str(record.label)}
    for step in load:
        d = step(d)
    current = _as_grid(d, None)
    i = 0
    while i < len(rest):
        stage = _STEP_STAGE.get(type(rest[i]).__name__, type(rest[i]).__name__)
        while i < len(rest) and _STEP_STAGE.get(type(rest[i]).__name__, type(rest[i]).__name__) == stage:
            d = rest[i](d)
            i += 1
        after = _as_grid(d, current.affine)
        yield stage, current, after
        current = after


def padded_grid(preprocessed: Grid, shape: Sequence[int]) -> Grid:
    """The preprocessed grid padded to the cohort's shape as the datamodule pads it, with the
    affine moved by the padding (so the two compare in world mm)."""
    image, label = pad_to(
        torch.from_numpy(preprocessed.image)[None], torch.from_numpy(preprocessed.label.astype(np.uint8))[None], shape
    )
    offset = [(want - have) // 2 for have, want in zip(preprocessed.label.shape, shape, strict=True)]
    affine = preprocessed.affine.copy()
    affine[:3, 3] = to_world(preprocessed.affine, -np.asarray(offset, dtype=float)[None])[0]
    return Grid.from_tensors(image, label, affine)


# --------------------------------------------------------------------------- on the padded volumes


def patch_rows(dm: ALDataModule, sid: str, group: str, grid: Grid, draws: int, seed: int) -> list[StageRow]:
    """Training patches centred on the structure: the share of its label each one holds."""
    size = dm.patch_size
    sampler = PatchSampler(size, pos_ratio=1.0, seed=seed)
    image, label = torch.from_numpy(grid.image)[None], torch.from_numpy(grid.label.astype(np.int64))[None]
    rows = []
    for k in range(draws):
        patch_image, patch_label = sampler(image, label)
        after = Grid.from_tensors(patch_image, patch_label, grid.affine)
        rows.append(compare("patches", sid, group, grid, after, draw=k, displacement=False))
    return rows


def _audited(augmentation: BatchAugmentation) -> BatchAugmentation:
    """The same augmentation with its affine on every draw (what resamples the label)."""
    out = copy.copy(augmentation)
    out.p_affine = 1.0
    return out


def batched_augmentation_rows(
    augmentation: BatchAugmentation, sid: str, group: str, grid: Grid, draws: int, seed: int, in_use: bool
) -> list[StageRow]:
    """The batched augmentation, ``draws`` times: label volume against each draw's own scaling,
    and the boundary mapped back through the draw's affine (only the resampling's shift stays)."""
    aug = _audited(augmentation)
    shape = grid.label.shape
    image = torch.from_numpy(grid.image).float().expand(draws, 1, *shape).clone()
    label = torch.from_numpy(grid.label.astype(np.int64)).expand(draws, 1, *shape).clone()
    params = aug.sample(draws, torch.Generator().manual_seed(seed))
    out_image, out_label = aug.apply(image, label, params)
    sampling = aug.sampling_grid({k: params[k] for k in ("angles", "scale", "shift_mm")}, shape, "cpu").double()
    size = torch.tensor(shape, dtype=torch.float64)
    rows = []
    for k in range(draws):
        after = Grid.from_tensors(out_image[k], out_label[k], grid.affine)
        idx = boundary_voxels(after.label).astype(int)
        # affine_grid's last axis is (Z, Y, X) in [-1, 1] (align_corners=True): back to input voxels
        where = sampling[k][idx[:, 0], idx[:, 1], idx[:, 2]].flip(-1) if len(idx) else torch.zeros(0, 3)
        source_voxels = ((where + 1) / 2 * (size - 1)).numpy()
        rows.append(
            compare(
                "augmentation",
                sid,
                group,
                grid,
                after,
                draw=k,
                in_use=in_use,
                # the grid samples the input at scale x output: a draw of s shrinks the structure by s^3
                expected_factor=1.0 / float(params["scale"][k].prod()),
                after_surface_mm=to_world(grid.affine, source_voxels),
            )
        )
    return rows


def torchio_augmentation_rows(
    cfg: Mapping, sid: str, group: str, grid: Grid, draws: int, seed: int, in_use: bool
) -> list[StageRow]:
    """The TorchIO augmentation, ``draws`` times: label volume against each draw's scaling (read
    from the subject's history). No boundary displacement: TorchIO does not expose its sampling
    grid."""
    transform = build_augmentation({**cfg, "enabled": True, "implementation": "torchio", "p_affine": 1.0})
    rows = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for k in range(draws):
            subject = tio.Subject(
                image=tio.ScalarImage(tensor=torch.from_numpy(grid.image)[None], affine=grid.affine),
                label=tio.LabelMap(tensor=torch.from_numpy(grid.label.astype(np.int64))[None], affine=grid.affine),
            )
            out = transform(subject)
            (affine,) = [t for t in out.get_applied_transforms() if type(t).__name__ == "Affine"]
            after = Grid.from_tensors(out["image"].data, out["label"].data, grid.affine)
            factor = float(np.prod(affine.scales))
            rows.append(compare("augmentation", sid, group, grid, after, draw=k, in_use=in_use, expected_factor=factor))
    return rows


def stitching_row(
    sid: str, group: str, grid: Grid, roi_size: Sequence[int], overlap: float, sw_batch_size: int = 4
) -> StageRow:
    """Sliding-window inference of the label's one-hot (a perfect predictor), Gaussian-blended as
    the model's is (:meth:`~fair_seg_al.model.SegmentationModule.probabilities`), then argmax."""
    from monai.inferers import sliding_window_inference

    label = torch.from_numpy(grid.label.astype(np.float32))[None, None]
    both = torch.cat([torch.from_numpy(grid.image).float()[None, None], label], dim=1)

    def perfect(window: torch.Tensor) -> torch.Tensor:
        structure = window[:, 1:2]
        return torch.cat([1 - structure, structure], dim=1)

    probs = sliding_window_inference(both, tuple(roi_size), sw_batch_size, perfect, overlap=overlap, mode="gaussian")
    predicted = torch.as_tensor(probs).argmax(1)[0]
    return compare("stitching", sid, group, grid, Grid.from_tensors(grid.image, predicted, grid.affine))


# --------------------------------------------------------------------------- the whole pipeline


def audit_pipeline(
    dm: ALDataModule,
    augmentation_cfg: Mapping | None,
    roi_size: Sequence[int] | None,
    sw_overlap: float = 0.25,
    subjects_per_group: int = 40,
    draws: int = 16,
    seed: int = 0,
    progress: bool = False,
) -> tuple[list[StageRow], list[dict]]:
    """Run every stage on a seeded sample of each group's subjects.

    Args:
        dm: the run's datamodule (built from the same config as the run).
        augmentation_cfg: ``data.augmentation``; audited as offered even when ``enabled: false``
            (rows marked ``in_use=False``), so a user sees what turning it on would do.
        roi_size: ``model.roi_size`` (sliding-window inference), None: whole volumes (no stitching).
        subjects_per_group: at most this many subjects per group (all where a group has fewer).
        draws: random draws per subject for patches and augmentation.

    Returns:
        The rows, and the input's own state per subject (``subject``, ``group``, volume, parts,
        largest part) as dicts.

    Raises:
        RuntimeError: the audit's own preprocessing of a subject differs from the datamodule's
            (the audit would not be measuring the pipeline the run uses).
    """
    from tqdm.auto import tqdm

    dm.setup()
    rng = np.random.default_rng(seed)
    picked = []
    for group in dm.groups:
        ids = sorted(dm.cohort.subject_ids(group))
        take = min(subjects_per_group, len(ids))
        picked += [(sid, group) for sid in sorted(rng.choice(ids, size=take, replace=False).tolist())]
    records = {r.subject_id: r for r in dm.cohort.records}
    aug_cfg = dict(augmentation_cfg or {})
    aug_in_use = bool(aug_cfg.get("enabled", False))
    implementation = aug_cfg.get("implementation", "torchio")
    # the run's own builder (audited as offered even when the config has it disabled)
    batched = (
        build_batch_augmentation({**aug_cfg, "enabled": True}, dm.voxel_size) if implementation == "batched" else None
    )
    rows: list[StageRow] = []
    inputs: list[dict] = []
    for i, (sid, group) in enumerate(tqdm(picked, desc="Auditing", unit="subject", disable=not progress)):
        grid = None
        for stage, before, after in preprocessing_grids(dm, records[sid]):
            if grid is None:
                parts = components(before.label)
                inputs.append(
                    {
                        "subject": sid,
                        "group": group,
                        "volume_mm3": before.volume_mm3,
                        "parts": len(parts),
                        "largest": float(parts[0] / parts.sum()) if len(parts) else float("nan"),
                        "contrast": contrast(before.image, before.label),
                    }
                )
            rows.append(compare(stage, sid, group, before, after))
            grid = after
        padded = padded_grid(grid, dm.shape)
        rows.append(compare("pad", sid, group, grid, padded))
        stored_image, stored_label = dm._store[sid]
        if not (
            np.array_equal(stored_label[0].numpy() > 0, padded.label)
            and np.allclose(stored_image[0].numpy(), padded.image, atol=1e-5)
        ):
            raise RuntimeError(f"subject {sid}: the audit's preprocessing differs from the run's (audit out of date)")
        # on the volumes the network sees (the datamodule's grid, spacing as in training)
        voxel = Grid(padded.image, padded.label, np.diag([*dm.voxel_size, 1.0]))
        subject_seed = seed * 1_000_003 + i
        if dm.patch_size:
            rows += patch_rows(dm, sid, group, voxel, draws, subject_seed)
        if batched is not None:
            rows += batched_augmentation_rows(batched, sid, group, voxel, draws, subject_seed, aug_in_use)
        elif aug_cfg:
            rows += torchio_augmentation_rows(aug_cfg, sid, group, voxel, draws, subject_seed, aug_in_use)
        if roi_size:
            rows.append(stitching_row(sid, group, voxel, roi_size, sw_overlap))
    return rows, inputs
