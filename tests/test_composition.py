"""Batch composition rules and group weights against hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fair_seg_al.strategies import (
    CompositionControlStrategy,
    Power,
    Quota,
    SelectionContext,
    Shortfall,
    TopK,
    WeightedEntropyStrategy,
    group_weights,
)
from fair_seg_al.strategies.composition import split_with_refill


def _counts(picked, groups):
    return {g: sum(groups[i] == g for i in picked) for g in sorted(set(groups))}


# ------------------------------------------------------------------ quota arithmetic
def test_quota_counts_follow_the_weights_by_largest_remainder():
    # shares 0.46/2 = 0.23 and 0.77: 2.3 and 7.7 -> floors 2 and 7, the larger remainder (B) gets the last
    groups = ["A"] * 12 + ["B"] * 12
    scores = np.arange(24, dtype=float)  # B's scores are all higher than A's
    picked = Quota().compose(scores, groups, 10, np.random.default_rng(0), {"A": 0.46, "B": 1.54})
    assert _counts(picked, groups) == {"A": 2, "B": 8}
    # within each group, the top scores: A's 10 and 11, B's 16..23
    assert sorted(picked.tolist()) == [10, 11, *range(16, 24)]


def test_quota_refills_a_groups_shortfall_from_the_others():
    # A:B = 1:3 of 10 asks B for 7 or 8, but B has 4 left: A takes the other 6
    groups = ["A"] * 10 + ["B"] * 4
    picked = Quota().compose(np.ones(14), groups, 10, np.random.default_rng(0), {"A": 1.0, "B": 3.0})
    assert _counts(picked, groups) == {"A": 6, "B": 4}
    # three groups: C (share 1/2 = 4) has 1 image; its 3 spare split 1:1 between A and B (1.5 each: a tie)
    counts = split_with_refill(8, {"A": 1, "B": 1, "C": 2}, {"A": 9, "B": 9, "C": 1}, np.random.default_rng(0))
    assert counts["C"] == 1 and counts["A"] + counts["B"] == 7 and {counts["A"], counts["B"]} == {3, 4}
    # the pool holds fewer than the budget: everything is taken
    assert split_with_refill(10, {"A": 1, "B": 1}, {"A": 2, "B": 3}, np.random.default_rng(0)) == {"A": 2, "B": 3}


def test_quota_ties_are_broken_at_random_not_always_for_the_first_group():
    firsts = {
        split_with_refill(5, {"A": 1.0, "B": 1.0}, {"A": 9, "B": 9}, np.random.default_rng(s))["A"] for s in range(20)
    }
    assert firsts == {2, 3}


def test_quota_without_weights_splits_equally():
    groups = ["A"] * 6 + ["B"] * 6
    picked = Quota().compose(np.arange(12.0), groups, 6, np.random.default_rng(0))
    assert _counts(picked, groups) == {"A": 3, "B": 3}


def test_a_ten_percent_weight_error_moves_one_image_with_quota_and_the_batch_with_topk():
    """Issue #7's switch: A's raw scores slightly above B's; w_B/w_A from 0.95 to 1.05."""
    rng = np.random.default_rng(0)
    raw = np.concatenate([rng.uniform(0.50, 0.51, 20), rng.uniform(0.49, 0.50, 20)])
    groups = ["A"] * 20 + ["B"] * 20
    n_b = {}
    for rule in (TopK(), Quota()):
        for ratio in (0.95, 1.05):
            w = {"A": 1.0, "B": ratio}
            scores = raw * np.array([w[g] for g in groups])
            n_b[rule.name, ratio] = _counts(rule.compose(scores, groups, 10, np.random.default_rng(1), w), groups)["B"]
    assert n_b["topk", 0.95] == 0 and n_b["topk", 1.05] == 10  # the whole batch flips
    assert n_b["quota", 0.95] == 5 and n_b["quota", 1.05] == 5  # 10 x 0.487 and 10 x 0.512 both round to 5


# ------------------------------------------------------------------ power / soft-rank
def test_power_sampling_draws_in_proportion_to_score_power():
    p = Power(temperature=1.0)
    picks = [p.compose(np.array([1.0, 3.0]), ["A", "A"], 1, np.random.default_rng(s))[0] for s in range(4000)]
    assert np.mean(np.array(picks) == 1) == pytest.approx(0.75, abs=0.025)  # 3 / (1 + 3)
    # temperature 1/2 squares the scores: 9 / 10
    p = Power(temperature=0.5)
    picks = [p.compose(np.array([1.0, 3.0]), ["A", "A"], 1, np.random.default_rng(s))[0] for s in range(4000)]
    assert np.mean(np.array(picks) == 1) == pytest.approx(0.9, abs=0.02)


def test_softrank_draws_by_rank_and_small_temperature_is_topk():
    p = Power(temperature=1.0, kind="softrank")  # ranks 1, 2 -> p ~ 1, 1/2
    picks = [p.compose(np.array([0.2, 0.9]), ["A", "A"], 1, np.random.default_rng(s))[0] for s in range(4000)]
    assert np.mean(np.array(picks) == 1) == pytest.approx(2 / 3, abs=0.025)
    scores = np.array([0.1, 0.5, 0.3, 0.9, 0.7])
    for kind in ("power", "softrank"):
        picked = Power(temperature=0.001, kind=kind).compose(scores, ["A"] * 5, 3, np.random.default_rng(0))
        assert sorted(picked.tolist()) == [1, 3, 4]


def test_power_never_takes_a_zero_score_before_a_positive_one_and_is_seeded():
    scores = np.array([0.0, 0.0, 0.2, 0.4])
    for s in range(50):
        assert sorted(Power().compose(scores, ["A"] * 4, 2, np.random.default_rng(s)).tolist()) == [2, 3]
    assert len(Power().compose(scores, ["A"] * 4, 4, np.random.default_rng(0))) == 4
    a = Power().compose(np.arange(1.0, 30.0), ["A"] * 29, 5, np.random.default_rng(7))
    b = Power().compose(np.arange(1.0, 30.0), ["A"] * 29, 5, np.random.default_rng(7))
    assert a.tolist() == b.tolist()
    with pytest.raises(ValueError, match="temperature"):
        Power(temperature=0)


# ------------------------------------------------------------------ shortfall / the composition-only control
@pytest.mark.parametrize(
    "labeled, budget, expected",
    [
        ({"A": 9, "B": 1}, 10, {"A": 1, "B": 9}),  # equal would be 10 each: A short by 1, B by 9
        ({"A": 5, "B": 5}, 10, {"A": 5, "B": 5}),  # already equal: equal shares
        ({"A": 12, "B": 2}, 4, {"A": 0, "B": 4}),  # equal would be 9: only B is short
    ],
)
def test_shortfall_counts(labeled, budget, expected):
    groups = ["A"] * 20 + ["B"] * 20
    picked = Shortfall().compose(np.zeros(40), groups, budget, np.random.default_rng(0), labeled_counts=labeled)
    assert _counts(picked, groups) == expected


def test_composition_control_is_random_within_groups_and_seeded():
    groups = ["A"] * 20 + ["B"] * 20
    ctx = SelectionContext(round=0, labeled_counts={"A": 9, "B": 1})
    s = CompositionControlStrategy()
    a = s.select(np.full(40, np.nan), groups, 10, np.random.default_rng(3), ctx)
    assert _counts(a, groups) == {"A": 1, "B": 9}
    assert a.tolist() == s.select(np.full(40, np.nan), groups, 10, np.random.default_rng(3), ctx).tolist()
    picks = {tuple(sorted(s.select(np.full(40, np.nan), groups, 10, np.random.default_rng(r), ctx))) for r in range(5)}
    assert len(picks) > 1
    assert s.estimator is None and not s.uses_model  # it knows nothing of performance


def test_weighted_entropy_hands_its_weights_to_the_composition():
    s = WeightedEntropyStrategy(composition=Quota(), weight_floor=0.0)
    ctx = SelectionContext(round=0, group_performance={"A": 0.9, "B": 0.6})  # w = 0.4, 1.6 -> 2 and 8 of 10
    groups = ["A"] * 12 + ["B"] * 12
    picked = s.select(np.ones(24), groups, 10, np.random.default_rng(0), ctx)
    assert _counts(picked, groups) == {"A": 2, "B": 8}


# ------------------------------------------------------------------ weights
def test_weight_floor_keeps_a_perfect_group_acquirable_and_the_mean_at_one():
    assert group_weights({"A": 1.0, "B": 0.8}, floor=0.0) == pytest.approx({"A": 0.0, "B": 2.0})
    w = group_weights({"A": 1.0, "B": 0.8}, floor=0.2)  # 0.2 + 0.8 x (0, 2)
    assert w == pytest.approx({"A": 0.2, "B": 1.8})
    assert sum(w.values()) / 2 == pytest.approx(1.0)
    # softmax with a floor: 2 softmax(-d / 0.1) then the floor
    e = math.exp(-10.0), math.exp(-8.0)
    soft = [2 * x / sum(e) for x in e]
    w = group_weights({"A": 1.0, "B": 0.8}, "softmax", 0.1, floor=0.1)
    assert w == pytest.approx({"A": 0.1 + 0.9 * soft[0], "B": 0.1 + 0.9 * soft[1]})


def test_unmeasured_groups_get_the_neutral_weight():
    w = group_weights({"A": 0.9, "B": 0.7, "C": float("nan")}, floor=0.0)
    assert w == pytest.approx({"A": 0.5, "B": 1.5, "C": 1.0})
    assert group_weights({"A": float("nan"), "B": float("nan")}) == {"A": 1.0, "B": 1.0}
    with pytest.raises(ValueError, match="weight_floor"):
        group_weights({"A": 0.5}, floor=1.5)
