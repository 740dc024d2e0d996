"""Normalised surface Dice and HD95 per image: hand-derived cases, empty masks, MONAI agreement,
and the per-group columns every round writes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fair_seg_al.metrics import fairness_summary, surface_metrics_per_case


def cube(lo: int, shift: int = 0, n: int = 10) -> torch.Tensor:
    m = torch.zeros(1, n, n, n, dtype=torch.bool)
    m[0, lo + shift : lo + 4 + shift, lo : lo + 4, lo : lo + 4] = True
    return m


def test_identical_masks_are_perfect():
    nsd, hd = surface_metrics_per_case(cube(2), cube(2), (1.0, 1.0, 1.0), tolerance_mm=1.0)
    assert nsd[0] == pytest.approx(1.0) and hd[0] == pytest.approx(0.0)


def test_shifted_cube_hand_derived():
    # A 4^3 cube and its copy shifted one voxel (2 mm) along x. Each boundary has 56 voxels
    # (64 - the 2^3 interior); they share the 3 x 12 voxels of the four side faces at x = 3..5.
    # With a 1 mm tolerance only shared voxels count: NSD = (36 + 36) / (56 + 56) = 9/14. Every
    # other boundary voxel is 2 mm from the other boundary, so HD95 = 2 mm.
    nsd, hd = surface_metrics_per_case(cube(2, 1), cube(2), (2.0, 2.0, 2.0), tolerance_mm=1.0)
    assert nsd[0] == pytest.approx(9 / 14, abs=1e-6)
    assert hd[0] == pytest.approx(2.0)
    # within a 2 mm tolerance every boundary voxel counts
    nsd, _ = surface_metrics_per_case(cube(2, 1), cube(2), (2.0, 2.0, 2.0), tolerance_mm=2.0)
    assert nsd[0] == pytest.approx(1.0)


def test_anisotropic_spacing_scales_distances():
    # The same one-voxel shift along x, with 3 mm voxels in x and 1 mm in y, z. The 16 voxels of
    # the face left behind (x = 2) are 3 mm from the other boundary: beyond a 2.5 mm tolerance,
    # and HD95 = 3 mm. The 4 centre voxels of the far face (x = 5), 2 mm away in the isotropic
    # case, now lie 1 mm (in y or z) from the other cube's side faces: within. So
    # NSD = (36 + 4) * 2 / 112 = 5/7.
    nsd, hd = surface_metrics_per_case(cube(2, 1), cube(2), (3.0, 1.0, 1.0), tolerance_mm=2.5)
    assert hd[0] == pytest.approx(3.0)
    assert nsd[0] == pytest.approx(5 / 7, abs=1e-6)


def test_empty_masks_have_defined_values():
    empty = torch.zeros(1, 10, 10, 10, dtype=torch.bool)
    pred = torch.cat([empty, empty, cube(2)])
    target = torch.cat([empty, cube(2), empty])
    nsd, hd = surface_metrics_per_case(pred, target, (2.0, 2.0, 2.0), tolerance_mm=2.0)
    diagonal = np.sqrt(3) * 20.0
    assert nsd.tolist() == [1.0, 0.0, 0.0]
    assert hd[0] == 0.0 and hd[1] == pytest.approx(diagonal) and hd[2] == pytest.approx(diagonal)


def test_agrees_with_monai_metric_classes_on_random_masks():
    from monai.metrics import HausdorffDistanceMetric, SurfaceDiceMetric

    g = torch.Generator().manual_seed(0)
    target = torch.rand(3, 12, 12, 12, generator=g) > 0.7
    pred = torch.rand(3, 12, 12, 12, generator=g) > 0.7
    spacing = (2.0, 1.5, 1.0)
    nsd, hd = surface_metrics_per_case(pred, target, spacing, tolerance_mm=1.5)

    def onehot(m):
        return torch.stack([~m, m], dim=1).float()

    ref_nsd = SurfaceDiceMetric([1.5], include_background=False)(onehot(pred), onehot(target), spacing=list(spacing))
    ref_hd = HausdorffDistanceMetric(include_background=False, percentile=95)(
        onehot(pred), onehot(target), spacing=list(spacing)
    )
    np.testing.assert_allclose(nsd, ref_nsd[:, 0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(hd, ref_hd[:, 0].numpy(), rtol=1e-6)


def test_summary_of_another_metric_keeps_its_own_keys():
    s = fairness_summary([0.9, 0.7, 0.5, 0.7], ["A", "A", "B", "B"], ["A", "B"], prefix="nsd")
    assert s["nsd"] == pytest.approx(0.7) and s["nsd_A"] == pytest.approx(0.8) and s["nsd_B"] == pytest.approx(0.6)
    assert s["nsd_disparity"] == pytest.approx(0.2)
    assert s["es_nsd"] == pytest.approx(0.7 / 1.2)
    assert "disparity" not in s and "es_dice" not in s
