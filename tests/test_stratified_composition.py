"""The stratified composition (how many per group x how to pick within a group) and its
temperature schedule, against hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fair_seg_al.strategies import Quota, Shortfall, Stratified, TemperatureSchedule


def _counts(picked, groups):
    return {g: sum(groups[i] == g for i in picked) for g in sorted(set(groups))}


# ------------------------------------------------------------------ schedule
def test_schedule_is_geometric_from_start_to_end():
    s = TemperatureSchedule(start=1.0, end=0.01, rounds=3)  # 1, 0.1, 0.01
    assert [s(r) for r in range(3)] == pytest.approx([1.0, 0.1, 0.01])
    s = TemperatureSchedule(start=2.0, end=0.5, rounds=5)  # ratio 1/4 over 4 steps: x 1/sqrt(2) a round
    assert [s(r) for r in range(5)] == pytest.approx([2.0, 2 / math.sqrt(2), 1.0, 1 / math.sqrt(2), 0.5])
    assert s(-1) == pytest.approx(2.0) and s(9) == pytest.approx(0.5)  # clamped to the schedule
    assert TemperatureSchedule(start=0.3)(7) == 0.3  # no end: constant
    assert TemperatureSchedule(start=0.3, end=0.1, rounds=1)(0) == 0.3


def test_schedule_rejects_bad_values():
    with pytest.raises(ValueError, match="> 0"):
        TemperatureSchedule(start=0.0)
    with pytest.raises(ValueError, match="rounds"):
        TemperatureSchedule(start=1.0, end=0.1)


# ------------------------------------------------------------------ counts per group
def test_equal_counts_split_the_batch_evenly_and_refill_from_a_group_that_runs_out():
    groups = ["A"] * 20 + ["B"] * 20
    picked = Stratified(counts="equal").compose(
        np.random.default_rng(9).random(40), groups, 10, np.random.default_rng(0)
    )
    assert _counts(picked, groups) == {"A": 5, "B": 5}
    groups = ["A"] * 20 + ["B"] * 3  # B has 3: the other 2 of its 5 go to A
    picked = Stratified(counts="equal", within="power").compose(np.ones(23), groups, 10, np.random.default_rng(0))
    assert _counts(picked, groups) == {"A": 7, "B": 3}


def test_shortfall_counts_from_a_9_1_start():
    # labeled 9 A / 1 B, budget 10: equal after the batch is 10 each, so A is short 1, B short 9
    groups = ["A"] * 20 + ["B"] * 20
    rule = Stratified(counts="shortfall", within="random")
    picked = rule.compose(
        np.random.default_rng(9).random(40), groups, 10, np.random.default_rng(1), labeled_counts={"A": 9, "B": 1}
    )
    assert _counts(picked, groups) == {"A": 1, "B": 9}


def test_weight_counts_follow_the_weights():
    groups = ["A"] * 20 + ["B"] * 20  # weights 1 : 4 of 10 -> 2 and 8
    picked = Stratified(counts="weights").compose(np.ones(40), groups, 10, np.random.default_rng(0), {"A": 1, "B": 4})
    assert _counts(picked, groups) == {"A": 2, "B": 8}


# ------------------------------------------------------------------ within a group
def test_power_within_a_group_samples_in_proportion_to_score_to_the_one_over_t():
    # one group of three, one pick a round; T = 1: p = 1/6, 2/6, 3/6; T = 0.5: p ~ s^2 = 1/14, 4/14, 9/14
    scores, groups, n = np.array([1.0, 2.0, 3.0]), ["A"] * 3, 6000
    for t, expected in ((1.0, [1 / 6, 2 / 6, 3 / 6]), (0.5, [1 / 14, 4 / 14, 9 / 14])):
        rule = Stratified(counts="equal", within="power", temperature={"start": t})
        rng = np.random.default_rng(0)
        freq = np.bincount([rule.compose(scores, groups, 1, rng)[0] for _ in range(n)], minlength=3) / n
        # 4 binomial SDs at n = 6000 is at most 0.026
        assert freq == pytest.approx(expected, abs=0.026)


def test_power_follows_the_schedule_round_by_round():
    # start 1 (proportional), end 0.001 at the last round (practically top-1)
    rule = Stratified(within="power", temperature={"start": 1.0, "end": 0.001, "rounds": 3})
    scores, groups = np.array([1.0, 2.0, 3.0]), ["A"] * 3
    rng = np.random.default_rng(0)
    late = [rule.compose(scores, groups, 1, rng, round=2)[0] for _ in range(300)]
    early = [rule.compose(scores, groups, 1, rng, round=0)[0] for _ in range(300)]
    assert set(late) == {2}
    assert len(set(early)) == 3


def test_power_samples_each_group_apart():
    # A's scores are 1000x B's: stratified power still takes its 5 from each group
    groups = ["A"] * 10 + ["B"] * 10
    scores = np.r_[np.full(10, 1000.0), np.arange(1.0, 11.0)]
    picked = Stratified(within="power").compose(scores, groups, 10, np.random.default_rng(3))
    assert _counts(picked, groups) == {"A": 5, "B": 5}
    assert len(set(picked.tolist())) == 10


def test_stratified_is_seeded():
    rule = Stratified(counts="shortfall", within="power", temperature={"start": 1.0, "end": 0.1, "rounds": 8})
    groups = ["A"] * 30 + ["B"] * 30
    scores = np.random.default_rng(5).random(60)
    a = rule.compose(scores, groups, 10, np.random.default_rng(2), labeled_counts={"A": 9, "B": 1}, round=3)
    b = rule.compose(scores, groups, 10, np.random.default_rng(2), labeled_counts={"A": 9, "B": 1}, round=3)
    assert a.tolist() == b.tolist()


def test_quota_and_shortfall_are_cases_of_stratified():
    groups = ["A"] * 15 + ["B"] * 15
    scores = np.random.default_rng(4).random(30)
    w, have = {"A": 0.7, "B": 1.3}, {"A": 8, "B": 2}
    assert (Quota().compose(scores, groups, 10, np.random.default_rng(1), w).tolist()
            == Stratified("weights", "top").compose(scores, groups, 10, np.random.default_rng(1), w).tolist())  # fmt: skip
    a = Shortfall().compose(scores, groups, 10, np.random.default_rng(1), labeled_counts=have)
    b = Stratified("shortfall", "top").compose(scores, groups, 10, np.random.default_rng(1), labeled_counts=have)
    assert a.tolist() == b.tolist()
    # top within a group: the B images taken are B's highest-scored ones
    b_scores = scores[15:]
    top_b = set((15 + np.argsort(-b_scores)[: _counts(a, groups)["B"]]).tolist())
    assert top_b == {i for i in a.tolist() if i >= 15}


def test_bad_choices_are_named():
    with pytest.raises(ValueError, match="counts"):
        Stratified(counts="proportional")
    with pytest.raises(ValueError, match="within"):
        Stratified(within="gumbel")


def test_softrank_ranks_within_each_group():
    # group B's scores are all below A's; softrank T = 1 within B: ranks 1, 2 -> p = 2/3, 1/3
    groups = ["A"] * 2 + ["B"] * 2
    scores = np.array([10.0, 9.0, 0.2, 0.1])
    rule = Stratified(within="power", kind="softrank", temperature={"start": 1.0})
    rng, n = np.random.default_rng(0), 6000
    b_picks = []
    for _ in range(n):
        picked = rule.compose(scores, groups, 2, rng).tolist()
        assert sorted(i >= 2 for i in picked) == [False, True]  # one of each group
        b_picks.append(next(i for i in picked if i >= 2))
    assert np.mean(np.array(b_picks) == 2) == pytest.approx(2 / 3, abs=0.025)  # 4 SDs at n = 6000


def test_random_strategies_refuse_a_composition_and_draw_by_their_counts_rule():
    from fair_seg_al.strategies import (
        CompositionControlStrategy,
        RandomStrategy,
        SelectionContext,
        StratifiedRandomStrategy,
    )

    with pytest.raises(ValueError, match="fixes its own batch composition"):
        StratifiedRandomStrategy(composition=Stratified())
    groups = ["A"] * 30 + ["B"] * 30
    picked = StratifiedRandomStrategy().select(np.full(60, np.nan), groups, 9, np.random.default_rng(0))
    assert sorted(_counts(picked, groups).values()) == [4, 5]  # 4.5 each: one group gets the odd image
    ctx = SelectionContext(round=0, labeled_counts={"A": 9, "B": 1})
    picked = CompositionControlStrategy().select(np.full(60, np.nan), groups, 10, np.random.default_rng(0), ctx)
    assert _counts(picked, groups) == {"A": 1, "B": 9}
    assert len(set(RandomStrategy().select(None, groups, 10, np.random.default_rng(0)).tolist())) == 10
