"""The synthetic cohort: determinism, anatomy, and the bias effect's direction and size."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from fair_seg_al.cohort.generator import SimulationContext, assign_groups, simulate_subject
from tests.conftest import make_spec


@pytest.fixture(scope="module")
def contexts():
    """Simulation contexts for the three presets at the default 2 mm size."""
    return {b: SimulationContext.build(make_spec(b, n_subjects=40)) for b in ("none", "weak", "strong")}


def test_same_seed_gives_identical_arrays(contexts):
    ctx = contexts["strong"]
    a, b = simulate_subject(ctx, 5, "B"), simulate_subject(ctx, 5, "B")
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.label, b.label)


def test_different_seeds_or_subjects_differ(contexts):
    other = SimulationContext.build(make_spec("strong", n_subjects=40, seed=1))
    a = simulate_subject(contexts["strong"], 5, "A")
    assert not np.allclose(a.image, simulate_subject(other, 5, "A").image)
    assert not np.allclose(a.image, simulate_subject(contexts["strong"], 6, "A").image)


def test_group_assignment_is_exact_and_seeded():
    spec = make_spec(n_subjects=10, groups=["A", "B", "C"], group_proportions=[0.5, 0.3, 0.2], biased_group="B")
    groups = assign_groups(spec)
    assert sorted(groups) == ["A"] * 5 + ["B"] * 3 + ["C"] * 2
    assert groups == assign_groups(spec)
    assert groups != assign_groups(
        make_spec(n_subjects=10, seed=3, groups=["A", "B", "C"], group_proportions=[0.5, 0.3, 0.2], biased_group="B")
    )


def test_caudate_is_left_and_plausibly_sized(contexts):
    ctx = contexts["none"]
    for index in range(4):
        s = simulate_subject(ctx, index, "A")
        centroid_vox = np.argwhere(s.label > 0).mean(axis=0)
        centroid_world = s.affine[:3, :3] @ centroid_vox + s.affine[:3, 3]
        assert centroid_world[0] < -5, "left caudate must lie left of the midline (world x < 0)"
        # the template's left caudate is ~4.2 mL; subject warps change it by a few tens of %
        assert 2500 < s.caudate_volume_mm3 < 7000
        # and the label sits inside the brain: the image is bright there
        assert s.image[s.label > 0].mean() > 0.3


def test_group_a_does_not_depend_on_bias_preset(contexts):
    for index in (0, 3, 7):
        ref = simulate_subject(contexts["none"], index, "A")
        for bias in ("weak", "strong"):
            other = simulate_subject(contexts[bias], index, "A")
            assert np.array_equal(ref.image, other.image)
            assert np.array_equal(ref.label, other.label)
    assert assign_groups(contexts["none"].spec) == assign_groups(contexts["strong"].spec)


def _group_b(ctx, n=8):
    return [simulate_subject(ctx, i, "B") for i in range(n)]


def test_group_b_volume_and_contrast_fall_strong_weak_none(contexts):
    vol = {b: np.mean([s.caudate_volume_mm3 for s in _group_b(contexts[b])]) for b in contexts}
    con = {b: np.mean([s.caudate_contrast for s in _group_b(contexts[b])]) for b in contexts}
    assert vol["strong"] < vol["weak"] < vol["none"]
    assert con["strong"] < con["weak"] < con["none"]
    # 'none' draws B exactly like A
    a = simulate_subject(contexts["none"], 2, "A")
    b = simulate_subject(contexts["none"], 2, "B")
    assert np.array_equal(a.image, b.image)


def _effective_shift(reference: np.ndarray, shrunk_voxels: int) -> float:
    """The erosion depth (mm, 1 mm voxels) that leaves ``shrunk_voxels`` of ``reference``.

    Each voxel counts by the fraction of it deeper than d; its centre lies ``edt - 0.5``
    mm inside the boundary.
    """
    depth = ndimage.distance_transform_edt(reference)[reference] - 0.5
    shifts = np.arange(0, 4, 0.05)
    volumes = np.array([np.clip(depth - d + 0.5, 0, 1).sum() for d in shifts])
    return float(shifts[np.argmin(np.abs(volumes - shrunk_voxels))])


@pytest.mark.parametrize("magnitude", [0.5, 1.5])
def test_atrophy_moves_the_boundary_inward_by_about_the_preset_mm(magnitude):
    """At 1 mm, the atrophied caudate ~ the unbiased one eroded by m mm."""
    fine = dict(n_subjects=4, spacing_mm=1.0, box_size_mm=[32.0, 56.0, 48.0])
    base = SimulationContext.build(make_spec("none", **fine))
    spec = make_spec("strong", **fine)
    spec.bias.intensity.enabled = False
    spec.bias.magnitude.mean, spec.bias.magnitude.sd = magnitude, 0.0
    biased = SimulationContext.build(spec)
    for index in range(2):
        ref = simulate_subject(base, index, "B").label.astype(bool)
        shrunk = simulate_subject(biased, index, "B")
        assert shrunk.atrophy_mm == pytest.approx(magnitude)
        shift = _effective_shift(ref, int(shrunk.label.sum()))
        assert 0.65 * magnitude <= shift <= 1.1 * magnitude, shift
        # the caudate shrinks in place: almost all of it lies inside the original
        assert (shrunk.label.astype(bool) & ~ref).sum() < 0.05 * shrunk.label.sum()


def test_intensity_effect_scales_caudate_by_preset_change():
    spec = make_spec("strong", n_subjects=4)
    spec.bias.atrophy.enabled = False
    spec.bias.magnitude.sd = 0.0
    spec.acquisition.noise_std = [0.0, 0.0]
    ctx = SimulationContext.build(spec)
    a, b = simulate_subject(ctx, 1, "A"), simulate_subject(ctx, 1, "B")
    c = b.intensity_change
    assert c == pytest.approx(spec.bias.magnitude.mean * spec.bias.intensity.change_per_unit)
    assert np.array_equal(a.label, b.label)  # no shape change
    ratio = b.image[b.label > 0].mean() / a.image[a.label > 0].mean()
    # image * (1 + c * soft_mask) with the soft mask in [0.5, 1] inside the label
    assert 1 + c - 1e-3 <= ratio <= 1 + 0.5 * c + 1e-3
    far = ndimage.distance_transform_edt(a.label == 0) > 4
    assert np.allclose(a.image[far], b.image[far])  # local: nothing changes far away
