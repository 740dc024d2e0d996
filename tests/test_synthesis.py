"""SynthSeg-style images from label maps (issue 20): seeded, and faithful to the labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fair_seg_al.cohort.synthesis import ContrastSpec, synthesize_image

FLAT = ContrastSpec(std=(0.0, 0.0), bias_field=0.0, blur_mm=(0.0, 0.0), noise_std=(0.0, 0.0))


def _labels():
    lab = np.zeros((12, 12, 12), dtype=np.int16)
    lab[2:6], lab[6:9], lab[9:] = 3, 36, 7
    return lab


def test_each_label_gets_one_intensity_per_subject_and_another_subject_another():
    lab = _labels()
    a, b = synthesize_image(lab, np.eye(4), FLAT, seed=1), synthesize_image(lab, np.eye(4), FLAT, seed=2)
    for image in (a, b):
        values = {v: np.unique(image[lab == v]) for v in (0, 3, 36, 7)}
        assert all(len(u) == 1 for u in values.values())  # no within-label spread asked: one value per label
        assert len({float(u[0]) for u in values.values()}) == 4  # labels stay apart
        assert all(0.1 <= u[0] <= 0.9 for u in values.values())  # drawn from the mean range
    assert not np.allclose(a[lab == 36].mean(), b[lab == 36].mean())  # each subject its own contrast


def test_same_seed_same_image_and_the_global_rng_untouched():
    lab = _labels()
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = synthesize_image(lab, np.eye(4), ContrastSpec(), seed=5)
    assert torch.rand(1) == before  # the synthesis drew from its own stream
    assert np.array_equal(a, synthesize_image(lab, np.eye(4), ContrastSpec(), seed=5))
    assert a.dtype == np.float32 and a.shape == lab.shape


def test_artefacts_spread_values_within_a_label():
    lab = _labels()
    image = synthesize_image(lab, np.eye(4), ContrastSpec(std=(0.0, 0.0), blur_mm=(0.0, 0.0)), seed=3)
    assert np.std(image[lab == 36]) > 0  # bias field and noise on: a label is no longer flat


def test_bad_ranges_name_their_key():
    with pytest.raises(ValueError, match=r"contrast.std: needs 0 <= low <= high, got \(0.2, 0.1\)"):
        ContrastSpec(std=(0.2, 0.1))
