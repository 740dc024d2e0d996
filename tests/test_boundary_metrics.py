"""Normalised surface Dice and HD95 per image: hand-derived cases, empty masks, MONAI agreement,
and the per-group columns every round writes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fair_seg_al.metrics import summarise, surface_metrics_per_case


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
    s = summarise("nsd", [0.9, 0.7, 0.5, 0.7], ["A", "A", "B", "B"], ["A", "B"])
    assert s["nsd"] == pytest.approx(0.7) and s["nsd_A"] == pytest.approx(0.8) and s["nsd_B"] == pytest.approx(0.6)
    assert s["nsd_disparity"] == pytest.approx(0.2)
    assert s["es_nsd"] == pytest.approx(0.7 / 1.2)
    assert "disparity" not in s and "es_dice" not in s


def test_a_round_evaluates_nsd_per_group_as_monai_does(tiny_cohort):
    """On a real cohort and network (untrained, so its masks are ragged), every test image's NSD
    and HD95 equal MONAI's metric classes on the same argmax masks, and the round's row carries
    the per-group means."""
    from monai.metrics import HausdorffDistanceMetric, SurfaceDiceMetric
    from monai.networks.nets import UNet

    from fair_seg_al.al.evaluation import MetricSettings, evaluate_groups
    from fair_seg_al.data.datamodule import ALDataModule
    from fair_seg_al.metrics import argmax_is
    from fair_seg_al.model import SegmentationModule

    torch.manual_seed(0)
    dm = ALDataModule(str(tiny_cohort), test_per_group=1, val_per_group=0)
    dm.setup()
    assert dm.voxel_size == (4.0, 4.0, 4.0)
    net = UNet(3, 1, 2, channels=(4, 8), strides=(2,), num_res_units=0)
    module = SegmentationModule(net, lambda logits, y: logits.mean(), torch.optim.SGD).eval()
    ev = evaluate_groups(module, dm, MetricSettings(nsd_tolerance_mm=4.0))
    images = torch.stack([dm._store[s][0] for s in ev.test_ids])
    labels = torch.stack([dm._store[s][1] for s in ev.test_ids])[:, 0] == 1
    with torch.inference_mode():
        pred = argmax_is(module.probabilities(images), 1)

    def onehot(m):
        return torch.stack([~m, m], dim=1).float()

    nsd = SurfaceDiceMetric([4.0], include_background=False)(onehot(pred), onehot(labels), spacing=[4.0] * 3)
    hd = HausdorffDistanceMetric(include_background=False, percentile=95)(
        onehot(pred), onehot(labels), spacing=[4.0] * 3
    )
    both = pred.flatten(1).any(1) & labels.flatten(1).any(1)  # MONAI: NaN where a mask is empty
    assert both.all()  # the untrained network predicts some structure in every image: nothing skipped
    np.testing.assert_allclose(ev.test_values["nsd"][both.numpy()], nsd[both, 0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(ev.test_values["hd95"][both.numpy()], hd[both, 0].numpy(), rtol=1e-6)
    for g in ("A", "B"):
        mine = [v for v, grp in zip(ev.test_values["nsd"], ev.test_groups, strict=True) if grp == g]
        assert ev.row[f"nsd_{g}"] == pytest.approx(np.mean(mine))
    assert ev.row["nsd_disparity"] == pytest.approx(abs(ev.row["nsd_A"] - ev.row["nsd_B"]))
