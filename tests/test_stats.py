"""Paired statistics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fair_seg_al.analysis.stats import bootstrap_ci, paired_summary, seeds_needed, sign_test, wilcoxon


def test_sign_test_by_hand():
    # 7 of 8 positive: 2 x P(X >= 7) for Binomial(8, 1/2) = 2 x (8 + 1) / 256
    assert sign_test([1, 2, 3, 4, 5, 6, 7, -1]) == pytest.approx(18 / 256)
    assert sign_test([0.5, 0.0, -0.5]) == pytest.approx(1.0)  # the zero is dropped: 1 of 2


def test_wilcoxon_exact_small_sample_by_hand():
    # 5 distinct positive differences: the rank sum of negatives is 0, P = 2 / 2^5
    assert wilcoxon([0.1, 0.2, 0.3, 0.4, 0.5]) == pytest.approx(2 / 32)
    assert math.isnan(wilcoxon([0.0, 0.0]))


def test_bootstrap_interval_of_a_constant_and_of_a_spread():
    assert bootstrap_ci([0.1] * 5) == pytest.approx((0.1, 0.1))
    lo, hi = bootstrap_ci(np.arange(-5.0, 6.0), seed=1)  # symmetric around 0
    assert lo < 0 < hi and abs(lo + hi) < 0.5
    assert all(math.isnan(x) for x in bootstrap_ci([1.0]))


def test_paired_summary_resolves_a_consistent_difference_and_not_noise():
    clear = paired_summary([0.02, 0.03, 0.01, 0.04, 0.05, 0.00, 0.02, 0.03])
    assert clear.mean == pytest.approx(0.025) and clear.resolved and clear.n_positive == 7
    assert clear.sd == pytest.approx(np.std([0.02, 0.03, 0.01, 0.04, 0.05, 0.00, 0.02, 0.03], ddof=1))
    noise = paired_summary([0.02, -0.03, 0.01, -0.01, 0.0, 0.02, -0.02])
    assert not noise.resolved and noise.ci_low < 0 < noise.ci_high


def test_seeds_needed_by_hand():
    # ((1.959964 + 0.841621) x 0.025 / 0.02)^2 = 12.26 -> 13; for 0.01: 49.05 -> 50
    assert seeds_needed(0.025, 0.02) == 13
    assert seeds_needed(0.025, 0.01) == 50
    assert seeds_needed(0.0, 0.01) == 0


def test_reduction_by_hand():
    from fair_seg_al.analysis.stats import reduction_ci

    # reference disparities 0.10, 0.20 (mean 0.15); strategy 0.05, 0.10 (mean 0.075): 50 % smaller
    point, lo, hi = reduction_ci([0.10, 0.20], [0.05, 0.10])
    assert point == pytest.approx(0.5)
    assert lo == pytest.approx(0.5) and hi == pytest.approx(0.5)  # every resample halves it
    point, lo, hi = reduction_ci([0.1, 0.2, 0.1, 0.3], [0.1, 0.1, 0.2, 0.1])
    assert point == pytest.approx((0.175 - 0.125) / 0.175) and lo < point < hi


def test_t_interval_by_hand():
    # mean 0.025, SD sqrt(1800e-6 / 7) = 0.016036, SE 0.0056695, t(0.975, 7) = 2.364624
    from fair_seg_al.analysis.stats import t_interval

    lo, hi, p = t_interval([0.02, 0.03, 0.01, 0.04, 0.05, 0.00, 0.02, 0.03])
    half = 2.364624 * math.sqrt(1800e-6 / 7) / math.sqrt(8)
    assert lo == pytest.approx(0.025 - half, abs=1e-6) and hi == pytest.approx(0.025 + half, abs=1e-6)
    # t = 0.025 / 0.0056695 = 4.4096 on 7 df: two-sided p = 0.0031 (tables)
    assert p == pytest.approx(0.0031, abs=2e-4)
    assert t_interval([0.1, 0.1]) == (0.1, 0.1, 0.0)


def test_t_interval_is_wider_than_the_percentile_bootstrap_at_few_seeds():
    v = [0.03, -0.01, 0.02, 0.04, 0.0]
    s = paired_summary(v)
    assert s.ci_low < s.boot_low and s.ci_high > s.boot_high


def test_holm_by_hand():
    from fair_seg_al.analysis.stats import holm

    # sorted 0.01, 0.03, 0.04 -> 3 x 0.01, max(0.03, 2 x 0.03), max(0.06, 1 x 0.04)
    assert holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    out = holm([0.5, float("nan"), 0.001])
    assert out[0] == pytest.approx(0.5) and math.isnan(out[1]) and out[2] == pytest.approx(0.002)


def test_family_adjustment_can_unresolve_and_words_follow_direction():
    from fair_seg_al.analysis.stats import adjust_family, verdict

    strong = paired_summary([0.02, 0.03, 0.01, 0.04, 0.05, 0.00, 0.02, 0.03])  # t p = 0.0031
    weak = paired_summary([0.01, 0.02, -0.005, 0.015, 0.01, 0.0, 0.02, 0.005])
    assert weak.resolved  # alone, its t-interval excludes 0 (t p = 0.022)
    noise = [paired_summary([0.01, -0.01, 0.0, 0.02, -0.02, 0.01, 0.0, -0.01]) for _ in range(2)]
    adjust_family([strong, weak, *noise])
    assert strong.resolved and not weak.resolved  # Holm: 4 x 0.0031 < 0.05, but 3 x 0.022 > 0.05
    assert verdict(strong, "higher").startswith("resolved better")
    assert verdict(strong, "lower").startswith("resolved worse")
    assert verdict(weak, "higher").startswith("unresolved (+0.009 [")


def test_two_level_bootstrap_widens_with_image_noise():
    from fair_seg_al.analysis.stats import two_level_bootstrap

    rng = np.random.default_rng(0)
    groups = ["A"] * 20 + ["B"] * 20
    # the same test images in every seed: seeds agree, images scatter
    base = np.concatenate([0.8 + 0.1 * rng.standard_normal(20), 0.7 + 0.1 * rng.standard_normal(20)])
    values = np.tile(base, (6, 1)) + 0.001 * rng.standard_normal((6, 40))
    point, lo, hi = two_level_bootstrap(values, groups, lambda m: m[:, 0] - m[:, 1])
    assert lo < point < hi
    # a seed-only interval would be ~0.001 wide; the image resampling gives about 2 x 1.96 x 0.1 x sqrt(2/20)
    assert hi - lo > 0.05


def test_nested_bootstrap_one_image_per_group_leaves_only_the_seeds():
    from fair_seg_al.analysis.stats import nested_bootstrap

    # each seed its own test set, one image per group: the images cannot vary, so every replicate is
    # a mean of the seeds' disparities (0.2 and 0.4) drawn with replacement: 0.2, 0.3 or 0.4
    values = [np.array([0.9, 0.7]), np.array([0.4, 0.8])]
    groups = [["A", "B"], ["B", "A"]]
    point, lo, hi = nested_bootstrap(values, groups, lambda m: m.max(axis=1) - m.min(axis=1), n_boot=400)
    assert point == pytest.approx(0.3)
    assert lo == pytest.approx(0.2) and hi == pytest.approx(0.4)
    with pytest.raises(ValueError, match="seed 1 has groups"):
        nested_bootstrap(values, [["A", "B"], ["A", "C"]], lambda m: m[:, 0])


def test_nested_bootstrap_adds_each_seeds_image_noise():
    from fair_seg_al.analysis.stats import nested_bootstrap

    rng = np.random.default_rng(1)
    groups = [["A"] * 20 + ["B"] * 20] * 6
    # six seeds, each its own 20 + 20 images with SD 0.1 and no seed effect: a seed's disparity has SD
    # 0.1 x sqrt(2 / 20) = 0.032, the mean of six 0.013; resampling the images inside each drawn seed
    # on top of the seeds about doubles that variance: a 95 % width near 2 x 1.96 x 0.013 x sqrt(2) = 0.07
    values = [
        np.concatenate([0.8 + 0.1 * rng.standard_normal(20), 0.7 + 0.1 * rng.standard_normal(20)]) for _ in groups
    ]
    point, lo, hi = nested_bootstrap(values, groups, lambda m: m[:, 0] - m[:, 1])
    assert lo < point < hi
    assert 0.045 < hi - lo < 0.11
