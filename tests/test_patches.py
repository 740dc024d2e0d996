"""Patch-based training and sliding-window inference (volumes too large to take whole)."""

from __future__ import annotations

import pytest
import torch
from monai.losses import DiceCELoss
from monai.networks.nets import UNet

from fair_seg_al.data.datamodule import ALDataModule, PatchSampler
from fair_seg_al.model import SegmentationModule


def _module(roi=None):
    torch.manual_seed(0)
    net = UNet(3, 1, 2, channels=(4, 8), strides=(2,), num_res_units=0)
    return SegmentationModule(net, DiceCELoss(to_onehot_y=True, softmax=True), torch.optim.Adam, roi_size=roi).eval()


def test_patches_are_the_size_asked_centred_on_the_structure_and_seeded():
    label = torch.zeros(1, 20, 20, 20, dtype=torch.uint8)
    label[0, 15, 15, 15] = 1  # one structure voxel
    image = torch.randn(1, 20, 20, 20)
    always_positive = PatchSampler((6, 6, 6), pos_ratio=1.0, seed=3)
    for _ in range(5):
        im, lab = always_positive(image, label)
        assert tuple(im.shape) == tuple(lab.shape) == (1, 6, 6, 6)
        assert lab.sum() == 1  # the structure voxel is inside every positive patch
    a = [PatchSampler((6, 6, 6), pos_ratio=0.5, seed=1)(image, label)[0] for _ in range(2)]
    assert torch.equal(a[0], a[1])  # same seed, same first patch


def test_sliding_window_with_one_window_equals_the_whole_volume_pass():
    x = torch.randn(2, 1, 8, 8, 8)
    whole, windowed = _module(), _module(roi=(8, 8, 8))
    with torch.no_grad():
        assert torch.allclose(whole.probabilities(x), windowed.probabilities(x), atol=1e-5)


def test_sliding_window_covers_a_larger_volume():
    x = torch.randn(1, 1, 12, 16, 20)
    with torch.no_grad():
        p = _module(roi=(8, 8, 8)).probabilities(x)
    assert tuple(p.shape) == (1, 2, 12, 16, 20)
    assert torch.allclose(p.sum(1), torch.ones(1, 12, 16, 20), atol=1e-5)


def test_training_batches_are_patches(tiny_cohort):
    dm = ALDataModule(tiny_cohort, test_per_group=1, val_per_group=1, patch_size=(8, 8, 8), pad_divisor=4)
    loader = dm.sampling_loader(dm.pool.ids[:2], samples=4, seed=0)
    batch = next(iter(loader))
    assert tuple(batch["image"].shape) == (4, 1, 8, 8, 8) and tuple(batch["label"].shape) == (4, 1, 8, 8, 8)
    again = next(iter(dm.sampling_loader(dm.pool.ids[:2], samples=4, seed=0)))
    assert torch.equal(batch["image"], again["image"])  # reproducible per round seed
    # evaluation and scoring still see whole volumes
    assert tuple(next(iter(dm.test_dataloader()))["image"].shape[2:]) == (12, 16, 16)


@pytest.mark.parametrize("patch", [[8, 8, 8], [6, 8, 8]])
def test_patch_size_must_suit_the_network(patch):
    from fair_seg_al.config import ConfigError
    from fair_seg_al.experiment import validate
    from tests.test_experiment_config import cfg_with

    cfg = cfg_with("experiment=smoke", f"data.patch_size=[{','.join(map(str, patch))}]")
    if patch[0] % 4:
        with pytest.raises(
            ConfigError, match=r"data.patch_size: must be three sizes divisible by the network's stride product 4"
        ):
            validate(cfg)
    else:
        validate(cfg)
        assert list(cfg.model.roi_size) == patch  # the sliding window follows the patch


def test_dataloader_workers_draw_different_patches(tiny_cohort):
    dm = ALDataModule(
        tiny_cohort, test_per_group=1, val_per_group=1, patch_size=(8, 8, 8), pad_divisor=4, num_workers=2
    )
    dm.batch_size = 1
    ids = dm.pool.ids[:1]  # one image: only the crop position can differ
    one_each = list(dm.sampling_loader(ids, samples=2, seed=0))  # two batches of one: one per worker
    assert not torch.equal(one_each[0]["image"], one_each[1]["image"])  # copies of one stream would agree
