"""Paired statistics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fair_seg_al.stats import bootstrap_ci, paired_summary, seeds_needed, sign_test, wilcoxon


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
    from fair_seg_al.stats import reduction_ci

    # reference disparities 0.10, 0.20 (mean 0.15); strategy 0.05, 0.10 (mean 0.075): 50 % smaller
    point, lo, hi = reduction_ci([0.10, 0.20], [0.05, 0.10])
    assert point == pytest.approx(0.5)
    assert lo == pytest.approx(0.5) and hi == pytest.approx(0.5)  # every resample halves it
    point, lo, hi = reduction_ci([0.1, 0.2, 0.1, 0.3], [0.1, 0.1, 0.2, 0.1])
    assert point == pytest.approx((0.175 - 0.125) / 0.175) and lo < point < hi
