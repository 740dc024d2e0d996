"""Uncertainty from several passes: hand-worked values, seeded passes, TTA's inverse maps, the score cache."""

from __future__ import annotations

import math

import pytest
import torch
from monai.losses import DiceCELoss
from monai.networks.nets import UNet
from torch.utils.data import DataLoader

from fair_seg_al.al.inference import score_images
from fair_seg_al.model import SegmentationModule
from fair_seg_al.strategies import MCDropoutStrategy, PassStatistics, TTAStrategy
from fair_seg_al.strategies.uncertainty import warp

LN2 = math.log(2)


def h(*p):
    return -sum(x * math.log(x) for x in p if x > 0)


def voxel(*passes):
    """Statistics of one voxel (a 1x1x1 volume, 2 classes) over the given passes."""
    stats = PassStatistics(keep_squares=True)
    for p in passes:
        stats.add(torch.tensor(p, dtype=torch.float64).reshape(1, 2, 1, 1, 1))
    return {
        m: stats.measure(m).item() for m in ("predictive_entropy", "expected_entropy", "mutual_information", "variance")
    }


def test_identical_passes_have_no_disagreement():
    m = voxel((0.7, 0.3), (0.7, 0.3), (0.7, 0.3))
    assert m["mutual_information"] == pytest.approx(0, abs=1e-12)
    assert m["variance"] == pytest.approx(0, abs=1e-12)
    assert m["predictive_entropy"] == pytest.approx(h(0.7, 0.3)) == pytest.approx(m["expected_entropy"])


def test_two_opposite_certain_passes_disagree_by_log_2():
    m = voxel((1.0, 0.0), (0.0, 1.0))
    assert m["predictive_entropy"] == pytest.approx(LN2)
    assert m["expected_entropy"] == pytest.approx(0, abs=1e-12)
    assert m["mutual_information"] == pytest.approx(LN2)
    assert m["variance"] == pytest.approx(0.25)  # each class: values 1 and 0


def test_a_worked_pair_of_passes():
    m = voxel((0.9, 0.1), (0.5, 0.5))  # mean (0.7, 0.3)
    assert m["predictive_entropy"] == pytest.approx(h(0.7, 0.3))
    assert m["expected_entropy"] == pytest.approx((h(0.9, 0.1) + LN2) / 2)
    assert m["mutual_information"] == pytest.approx(h(0.7, 0.3) - (h(0.9, 0.1) + LN2) / 2)
    assert m["variance"] == pytest.approx(0.04)  # each class: 0.2 either side of the mean


def test_expected_entropy_never_exceeds_predictive_entropy():
    g = torch.Generator().manual_seed(0)
    stats = PassStatistics()
    for _ in range(5):
        stats.add(torch.softmax(3 * torch.randn(2, 3, 4, 4, 4, generator=g), dim=1))
    assert (stats.measure("expected_entropy") <= stats.measure("predictive_entropy") + 1e-6).all()
    assert (stats.measure("mutual_information") >= 0).all()


def test_roi_reduction_averages_inside_the_mean_prediction():
    probs = torch.zeros(1, 2, 4, 4, 4)
    probs[:, 0] = 1.0
    probs[0, :, 1, 1, 1] = torch.tensor([0.3, 0.7])  # the structure: one voxel
    s = MCDropoutStrategy(passes=1, measure="predictive_entropy", margin=0)
    assert s.score(probs).item() == pytest.approx(h(0.3, 0.7))  # mean over the 1-voxel ROI
    volume = MCDropoutStrategy(passes=1, measure="predictive_entropy", reduction="volume")
    assert volume.score(probs).item() == pytest.approx(h(0.3, 0.7) / 64)


def tiny_module(dropout: float, seed: int = 0) -> SegmentationModule:
    torch.manual_seed(seed)
    net = UNet(3, 1, 2, channels=(4, 8), strides=(2,), num_res_units=0, dropout=dropout)
    return SegmentationModule(net, DiceCELoss(to_onehot_y=True, softmax=True), torch.optim.Adam)


def images(n: int = 3):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 1, 8, 8, 8, generator=g), [f"s{i}" for i in range(n)]


def test_mc_dropout_is_seeded_and_leaves_the_module_as_it_was():
    module = tiny_module(dropout=0.5).eval()
    x, ids = images()
    bald = MCDropoutStrategy(passes=4, seed=0, reduction="volume")
    with torch.inference_mode():
        a = bald.score_batch(module, x, ids)
        b = bald.score_batch(module, x, ids)
        other = MCDropoutStrategy(passes=4, seed=1, reduction="volume").score_batch(module, x, ids)
    assert torch.equal(a, b)  # same seed, same images: same passes
    assert not torch.equal(a, other)
    assert (a > 0).all()  # dropout passes disagree
    assert not any(m.training for m in module.modules())  # dropout switched back off


def test_mc_dropout_refuses_a_network_without_dropout():
    module = tiny_module(dropout=0.0).eval()
    x, ids = images()
    with pytest.raises(ValueError, match="model.net.dropout"):
        MCDropoutStrategy(passes=2).score_batch(module, x, ids)


def test_warp_moves_along_the_intended_axis_and_its_inverse_undoes_it():
    x = torch.linspace(-1, 1, 8).reshape(1, 1, 8, 1, 1).expand(1, 1, 8, 8, 8).contiguous()  # varies along X only
    squeeze_x = torch.diag(torch.tensor([0.5, 1.0, 1.0])).unsqueeze(0)
    moved = warp(x, squeeze_x)
    assert not torch.allclose(moved, x)
    assert torch.allclose(moved, moved[:, :, :, :1, :1].expand_as(moved))  # still constant along Y and Z
    squeeze_z = torch.diag(torch.tensor([1.0, 1.0, 0.5])).unsqueeze(0)
    assert torch.allclose(warp(x, squeeze_z), x, atol=1e-6)  # Z scaling cannot change an X ramp
    angle = math.radians(4)
    rot = torch.tensor([[1, 0, 0], [0, math.cos(angle), -math.sin(angle)], [0, math.sin(angle), math.cos(angle)]])
    smooth = torch.randn(1, 1, 4, 4, 4)
    smooth = torch.nn.functional.interpolate(smooth, size=(16, 16, 16), mode="trilinear", align_corners=True)
    back = warp(warp(smooth, rot.unsqueeze(0)), torch.linalg.inv(rot).unsqueeze(0))
    inner = (slice(None), slice(None), slice(4, 12), slice(4, 12), slice(4, 12))
    assert (back[inner] - smooth[inner]).abs().max() < 0.1 * smooth.abs().max()


def test_tta_without_augmentation_has_no_disagreement_and_is_seeded():
    module = tiny_module(dropout=0.0).eval()
    x, ids = images()
    still = TTAStrategy(passes=3, max_rotation_deg=0, max_scale=0, intensity_scale=0, intensity_shift=0)
    with torch.inference_mode():
        assert still.score_batch(module, x, ids).abs().max() < 1e-5
        tta = TTAStrategy(passes=3, seed=0, reduction="volume")
        a, b = tta.score_batch(module, x, ids), tta.score_batch(module, x, ids)
    assert torch.equal(a, b) and (a > 0).all()


class CountingModule(SegmentationModule):
    calls = 0

    def probabilities(self, x):
        CountingModule.calls += 1
        return super().probabilities(x)


def test_scores_are_cached_until_the_model_changes():
    torch.manual_seed(0)
    net = UNet(3, 1, 2, channels=(4, 8), strides=(2,), num_res_units=0, dropout=0.5)
    module = CountingModule(net, DiceCELoss(to_onehot_y=True, softmax=True), torch.optim.Adam)
    x, ids = images(4)
    data = [{"image": x[i], "id": ids[i]} for i in range(4)]

    class Items(list):
        pass

    dataset = Items(data)
    dataset.ids = ids
    loader = DataLoader(dataset, batch_size=2)
    bald = MCDropoutStrategy(passes=3)
    got_ids, first = score_images(module, loader, bald)
    assert got_ids == ids and CountingModule.calls == 2 * 3  # 2 batches x 3 passes
    _, again = score_images(module, loader, bald)
    assert CountingModule.calls == 6 and (again == first).all()  # unchanged model: from memory
    with torch.no_grad():
        next(module.parameters()).add_(0.01)  # a training step changed the model
    score_images(module, loader, bald)
    assert CountingModule.calls == 12
