"""Batched tensor augmentation: identity, ranges, labels, seeding, devices, and the training hook."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fair_seg_al.data.augmentation import BatchAugmentation, rotation_matrices

OFF = dict(p_affine=0.0, p_gamma=0.0, p_noise=0.0)


def blob(n=4, shape=(12, 16, 16)) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    image = torch.randn(n, 1, *shape, generator=g)
    label = torch.zeros(n, 1, *shape, dtype=torch.long)
    label[:, :, 4:8, 5:11, 6:10] = 1
    return image, label


def test_identity_when_every_probability_is_zero():
    image, label = blob()
    out_i, out_l = BatchAugmentation(**OFF)(image, label, torch.Generator().manual_seed(0))
    assert torch.equal(out_i, image) and torch.equal(out_l, label)


def test_an_affine_with_no_range_is_the_identity_up_to_float_rounding():
    image, label = blob()
    aug = BatchAugmentation(scales=0.0, degrees=0.0, translation=0.0, p_affine=1.0, p_gamma=0.0, p_noise=0.0)
    out_i, out_l = aug(image, label, torch.Generator().manual_seed(0))
    assert torch.allclose(out_i, image, atol=1e-5) and torch.equal(out_l, label)


def test_parameters_stay_in_their_ranges_and_probabilities_hold_over_many_draws():
    aug = BatchAugmentation(
        scales=0.05, degrees=5, translation=2, p_affine=0.5, log_gamma=0.1, p_gamma=0.3, noise_std=0.05, p_noise=0.3
    )
    p = aug.sample(20000, torch.Generator().manual_seed(0))
    assert p["scale"].min() >= 0.95 and p["scale"].max() <= 1.05
    assert p["angles"].abs().max() <= 5 and p["shift_mm"].abs().max() <= 2
    assert p["gamma"].min() >= math.exp(-0.1) and p["gamma"].max() <= math.exp(0.1)
    assert p["noise_std"].min() >= 0 and p["noise_std"].max() <= 0.05
    # binomial SD at n = 20000 is at most 0.0035: 0.015 is over 4 SD
    assert abs(p["affine"].float().mean() - 0.5) < 0.015
    assert abs(p["gamma_on"].float().mean() - 0.3) < 0.015 and abs(p["noise_on"].float().mean() - 0.3) < 0.015
    # uniform draws: the mean of U(-5, 5) is 0, its SD 10 / sqrt(12)
    assert abs(p["angles"].mean()) < 0.1 and abs(p["angles"].std() - 10 / math.sqrt(12)) < 0.1


def test_rotations_are_rotations():
    r = rotation_matrices(torch.tensor([[5.0, -3.0, 2.0], [90.0, 0.0, 0.0]], dtype=torch.float64))
    assert torch.allclose(r @ r.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(2, 3, 3), atol=1e-12)
    assert torch.allclose(torch.linalg.det(r), torch.ones(2, dtype=torch.float64))
    # 90 degrees about the first axis takes the second axis to the third
    assert torch.allclose(
        r[1] @ torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64),
        torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64),
        atol=1e-12,
    )


def test_a_pure_translation_moves_the_label_by_whole_voxels():
    # 4 mm along the first axis with 2 mm voxels: the structure shifts by 2 voxels (output(x) = input(x + t))
    image, label = blob(n=1)
    aug = BatchAugmentation(
        scales=0.0, degrees=0.0, translation=0.0, spacing=(2.0, 2.0, 2.0), p_affine=1.0, p_gamma=0.0, p_noise=0.0
    )
    params = aug.sample(1, torch.Generator().manual_seed(0))
    params["shift_mm"] = torch.tensor([[4.0, 0.0, 0.0]], dtype=torch.float64)
    _, out_l = aug.apply(image, label, params)
    assert torch.equal(out_l, torch.roll(label, -2, dims=2))


def test_labels_stay_binary_and_images_finite():
    image, label = blob(n=8)
    aug = BatchAugmentation(p_affine=1.0, p_gamma=1.0, p_noise=1.0, spacing=(2.0, 2.0, 2.0))
    out_i, out_l = aug(image, label, torch.Generator().manual_seed(3))
    assert set(out_l.unique().tolist()) <= {0, 1} and out_l.dtype == label.dtype
    assert torch.isfinite(out_i).all() and not torch.equal(out_i, image)
    # the structure moves a little, it does not vanish: 5 degrees, 5 % and 2 mm on a 12-16 voxel box
    kept = out_l.flatten(1).sum(1).float() / label.flatten(1).sum(1).float()
    assert (kept > 0.6).all() and (kept < 1.4).all()


def test_gamma_by_hand():
    image = torch.tensor([-4.0, -1.0, 0.0, 1.0, 4.0]).view(1, 1, 5, 1, 1)
    aug = BatchAugmentation(**OFF)
    params = aug.sample(1, torch.Generator().manual_seed(0))
    params["gamma_on"], params["gamma"] = torch.tensor([True]), torch.tensor([0.5], dtype=torch.float64)
    out, _ = aug.apply(image, torch.zeros_like(image, dtype=torch.long), params)
    assert out.flatten().tolist() == pytest.approx([-2.0, -1.0, 0.0, 1.0, 2.0])  # sign(x) |x|^0.5, as TorchIO


def test_same_seed_same_batch_and_another_seed_another():
    image, label = blob()
    aug = BatchAugmentation(p_affine=1.0, p_gamma=0.5, p_noise=0.5, spacing=(2.0, 2.0, 2.0))
    a = aug(image, label, torch.Generator().manual_seed(7))
    b = aug(image, label, torch.Generator().manual_seed(7))
    c = aug(image, label, torch.Generator().manual_seed(8))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[0], c[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (checked on the GPU machine)")
def test_runs_on_cuda_with_the_cpu_draws():
    image, label = blob()
    aug = BatchAugmentation(p_affine=1.0, p_gamma=1.0, p_noise=0.0, spacing=(2.0, 2.0, 2.0))
    params = aug.sample(4, torch.Generator().manual_seed(0))
    cpu = aug.apply(image, label, params)
    gpu = aug.apply(image.cuda(), label.cuda(), params)
    assert gpu[0].is_cuda and torch.allclose(gpu[0].cpu(), cpu[0], atol=1e-4)
    assert (gpu[1].cpu() != cpu[1]).float().mean() < 0.01  # nearest sampling may differ at ties


def test_the_datamodule_augments_training_batches_only(tiny_cohort):
    from types import SimpleNamespace

    from fair_seg_al.data.datamodule import ALDataModule

    cfg = {"enabled": True, "implementation": "batched", "p_affine": 1.0, "p_gamma": 1.0, "p_noise": 1.0}
    dm = ALDataModule(str(tiny_cohort), test_per_group=1, val_per_group=0, augmentation=cfg)
    assert dm.augmentation is None and dm.batch_augmentation.spacing == (4.0, 4.0, 4.0)
    dm.setup()
    dm.start_round(5, 4)
    batch = next(iter(dm.loader(dm.split["test"])))
    original = batch["image"].clone()
    dm.trainer = SimpleNamespace(training=False)
    assert torch.equal(dm.on_after_batch_transfer(dict(batch), 0)["image"], original)
    dm.trainer = SimpleNamespace(training=True)
    first = dm.on_after_batch_transfer(dict(batch), 0)["image"]
    assert not torch.equal(first, original)
    dm.start_round(5, 4)  # the same round again: the same draws
    assert torch.equal(dm.on_after_batch_transfer(dict(batch), 0)["image"], first)
    with pytest.raises(ValueError, match="implementation must be one of"):
        ALDataModule(str(tiny_cohort), test_per_group=1, val_per_group=0, augmentation={"implementation": "kornia"})
    assert np.isfinite(first.numpy()).all()


# ----------------------------------------------------------------- labels keep their volume (issue #32)


def rod(n: int, shape=(16, 16, 16)) -> tuple[torch.Tensor, torch.Tensor]:
    """A one-voxel-thick rod along the last axis: the structure an eroding resampler loses first."""
    label = torch.zeros(n, 1, *shape, dtype=torch.long)
    label[:, :, 8, 8, 3:13] = 1
    return torch.randn(n, 1, *shape, generator=torch.Generator().manual_seed(2)), label


def kept_fraction(aug: BatchAugmentation, image, label, seed=0) -> torch.Tensor:
    _, out = aug(image, label, torch.Generator().manual_seed(seed))
    return out.flatten(1).sum(1).float() / label.flatten(1).sum(1).float()


def test_nearest_labels_keep_a_thin_structure_s_volume_and_the_old_threshold_erodes_it():
    # translation only (uniform over +-2 voxels): nearest moves the rod whole, so every sample keeps
    # exactly its 10 voxels. Trilinear + 0.5 keeps the rod's cross-section only where
    # (1 - du)(1 - dv) > 1/2, du and dv the shift's distances to whole voxels across the rod
    # (uniform on [0, 1/2]): probability 4 * int_{1/2}^{1} (1 - 1/(2x)) dx = 2 - 2 ln 2 = 0.61, and
    # otherwise the whole rod is lost (along the rod, a 1-D box cut at 1/2 keeps its length)
    image, label = rod(200)
    shift = dict(scales=0.0, degrees=0.0, translation=2.0, spacing=(1.0, 1.0, 1.0), p_affine=1.0, p_gamma=0, p_noise=0)
    assert torch.equal(kept_fraction(BatchAugmentation(**shift), image, label), torch.ones(200))
    eroded = kept_fraction(BatchAugmentation(**shift, label_interpolation="linear_threshold"), image, label)
    # a shift (u, v) across the rod keeps it iff (1-|u|)(1-|v|) > 0.5 for the fractional parts, which
    # 200 samples of a 0/1 outcome: SE 0.035, so 0.75 is 4 SE above 0.61
    assert eroded.mean() < 0.75


def test_nearest_labels_keep_volume_under_the_default_affine_on_average():
    # full default affine (5 %, 5 degrees, 2 mm) at 2 mm voxels on a 6x6x6 cube: E[scale^3] - 1 is
    # 3 * 0.05^2 / 3 = 0.0025, rotation and translation keep volume, so the mean ratio is 1 within
    # sampling noise (400 samples, per-sample SD about 0.1: SE 0.005)
    image = torch.zeros(400, 1, 16, 16, 16)
    label = torch.zeros(400, 1, 16, 16, 16, dtype=torch.long)
    label[:, :, 5:11, 5:11, 5:11] = 1
    aug = BatchAugmentation(spacing=(2.0, 2.0, 2.0), p_affine=1.0, p_gamma=0, p_noise=0)
    assert abs(kept_fraction(aug, image, label).mean().item() - 1.0025) < 0.02
    old = BatchAugmentation(
        spacing=(2.0, 2.0, 2.0), p_affine=1.0, p_gamma=0, p_noise=0, label_interpolation="linear_threshold"
    )
    assert kept_fraction(old, image, label).mean().item() < 0.97  # the old scheme shaves the corners


def test_an_unknown_label_interpolation_is_refused():
    with pytest.raises(ValueError, match="label_interpolation must be one of"):
        BatchAugmentation(label_interpolation="cubic")


def test_both_implementations_translate_in_millimetres():
    # 2 mm voxels, translation 2 mm: the image's centre of mass moves by at most 2 mm per axis in
    # both; TorchIO given an identity affine (before #32) moved it by up to 2 voxels = 4 mm
    from fair_seg_al.data.datamodule import CachedVolumes, build_augmentation

    shape = (16, 16, 16)
    image = torch.zeros(1, *shape)
    image[:, 6:10, 6:10, 6:10] = 1.0
    label = (image > 0).long()
    cfg = dict(enabled=True, scales=0.0, degrees=0.0, translation=2.0, p_affine=1.0, p_gamma=0.0, p_noise=0.0)
    grid = torch.stack(torch.meshgrid(*[torch.arange(s, dtype=torch.float32) for s in shape], indexing="ij"))

    def centre_mm(x: torch.Tensor) -> torch.Tensor:
        return (grid * x).flatten(1).sum(1) / x.sum() * 2.0

    store = {"s": (image, label)}
    torchio = build_augmentation({**cfg, "implementation": "torchio"})
    data = CachedVolumes(store, ["s"], {"s": "A"}, torchio, spacing=(2.0,) * 3)
    torch.manual_seed(0)
    tio_shifts = torch.stack([centre_mm(data[0]["image"][0]) - centre_mm(image[0]) for _ in range(60)])
    aug = BatchAugmentation(**{k: v for k, v in cfg.items() if k != "enabled"}, spacing=(2.0,) * 3)
    out, _ = aug(image.expand(60, 1, *shape), label.expand(60, 1, *shape), torch.Generator().manual_seed(0))
    batch_shifts = torch.stack([centre_mm(o[0]) - centre_mm(image[0]) for o in out])
    for shifts in (tio_shifts, batch_shifts):
        assert shifts.abs().max() <= 2.0 + 1e-3  # never beyond the range
        assert shifts.abs().max() > 1.5  # and the range is used (60 x 3 uniform draws)
