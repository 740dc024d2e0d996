"""The seed planner and the equivalence test (issue 33): sizes by hand, power at its edges."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from fair_seg_al.analysis.planner import (
    MAX_SEEDS,
    main,
    plan,
    power_of_equivalence,
    power_to_resolve,
    seeds_for_equivalence,
    seeds_to_resolve,
)
from fair_seg_al.analysis.stats import equivalence_verdict, paired_summary, tost


def test_power_is_the_level_at_no_effect_and_one_at_a_huge_one():
    assert power_to_resolve(10, 0.01, 0.0, 0.05) == pytest.approx(0.05, abs=1e-9)
    assert power_to_resolve(10, 0.01, 0.1, 0.05) == pytest.approx(1.0, abs=1e-9)
    # TOST at a true difference on the margin: each one-sided test rejects with probability alpha at most
    assert power_of_equivalence(30, 0.01, 0.01, 0.05, true_difference=0.01) <= 0.05 + 1e-9


def test_seeds_to_resolve_are_the_fewest_that_reach_the_power_and_near_the_normal_formula():
    sd, effect = 0.01, 0.005
    n = seeds_to_resolve(sd, effect)
    normal = ((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * sd / effect) ** 2  # 31.4
    assert math.ceil(normal) <= n <= math.ceil(normal) + 3
    assert power_to_resolve(n, sd, effect) >= 0.8 > power_to_resolve(n - 1, sd, effect)
    # a family of 20: Holm's first step at 0.0025 needs more seeds (z 3.02 instead of 1.96); the
    # t-test's heavier tails at so small a level add a few more than the normal formula's 59.8
    n20 = seeds_to_resolve(sd, effect, family=20)
    normal20 = ((stats.norm.ppf(1 - 0.0025 / 2) + stats.norm.ppf(0.8)) * sd / effect) ** 2
    assert n20 > n and math.ceil(normal20) <= n20 <= 1.1 * normal20 + 3
    assert power_to_resolve(n20, sd, effect, 0.0025) >= 0.8 > power_to_resolve(n20 - 1, sd, effect, 0.0025)


def test_seeds_for_equivalence_near_the_normal_formula_and_never_at_the_margin():
    sd, margin = 0.01, 0.01
    n = seeds_for_equivalence(sd, margin)
    # at a true difference of 0, both one-sided tests must reject: z_{1-alpha} + z_{1-beta/2}
    normal = ((stats.norm.ppf(0.95) + stats.norm.ppf(0.9)) * sd / margin) ** 2  # 8.6
    assert math.ceil(normal) <= n <= math.ceil(normal) + 3
    assert power_of_equivalence(n, sd, margin) >= 0.8 > power_of_equivalence(n - 1, sd, margin)
    assert seeds_for_equivalence(sd, margin, true_difference=margin) == MAX_SEEDS + 1


def test_the_cell_takes_the_most_any_comparison_needs_and_bad_input_is_named(capsys):
    rows, cell = plan({"small": 0.005, "large": 0.01}, effect=0.005, margin=0.01, family=10)
    assert cell == max(r.seeds for r in rows) == rows[1].seeds_to_resolve
    assert rows[0].seeds_to_resolve < rows[1].seeds_to_resolve
    with pytest.raises(ValueError, match="paired SD must be > 0"):
        seeds_to_resolve(0.0, 0.01)
    assert main(["--sd", "a=0.01", "--effect", "0.005", "--margin", "0.01", "--family", "1"]) == 0
    out = capsys.readouterr().out
    assert f"**{seeds_to_resolve(0.01, 0.005)}** paired seeds" in out
    with pytest.raises(SystemExit):
        main(["--sd", "a=x", "--effect", "0.005", "--margin", "0.01", "--family", "1"])


def test_tost_agrees_with_the_90_percent_interval_inside_the_margin():
    rng = np.random.default_rng(0)
    for _ in range(50):
        d = rng.normal(rng.uniform(-0.01, 0.01), 0.01, size=12)
        se = d.std(ddof=1) / math.sqrt(len(d))
        half = stats.t.ppf(0.95, len(d) - 1) * se
        inside = -0.01 < d.mean() - half and d.mean() + half < 0.01
        assert (tost(d, 0.01) < 0.05) == inside


def test_the_four_verdicts():
    small = paired_summary([0.001, -0.001, 0.0005, -0.0005, 0.0, 0.001, -0.001, 0.0])
    assert equivalence_verdict(
        small, 0.01, tost([0.001, -0.001, 0.0005, -0.0005, 0.0, 0.001, -0.001, 0.0], 0.01)
    ).startswith("equivalent within +-0.01")
    noisy = [0.02, -0.03, 0.01, -0.02]
    assert equivalence_verdict(paired_summary(noisy), 0.01, tost(noisy, 0.01)).startswith("inconclusive")
    better = [0.03, 0.04, 0.035, 0.03, 0.04]
    assert equivalence_verdict(paired_summary(better), 0.01, tost(better, 0.01)).startswith("resolved better")
    assert equivalence_verdict(paired_summary(better), 0.01, tost(better, 0.01), "lower").startswith("resolved worse")
