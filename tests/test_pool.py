"""Pool invariants, initial sets and splits."""

from __future__ import annotations

import numpy as np
import pytest

from fair_seg_al.data import CohortFolder
from fair_seg_al.data.pool import ActivePool, draw_initial_set, quota_split
from fair_seg_al.data.splits import make_split


def _pool(n_a=10, n_b=10):
    ids = [f"s{i}" for i in range(n_a + n_b)]
    return ActivePool(ids, ["A"] * n_a + ["B"] * n_b)


def test_labeling_moves_items_and_keeps_the_total():
    pool = _pool()
    pool.label(["s0", "s15"], round=0)
    assert pool.labeled_ids == ["s0", "s15"]
    assert len(pool.labeled_ids) + len(pool.unlabeled_ids) == len(pool) == 20
    assert not set(pool.labeled_ids) & set(pool.unlabeled_ids)
    assert pool.counts(["A", "B"]) == {"A": 1, "B": 1}
    assert pool.counts(["A", "B"], labeled=False) == {"A": 9, "B": 9}


def test_labeling_rejects_duplicates_relabels_and_strangers():
    pool = _pool()
    pool.label(["s1"], round=0)
    with pytest.raises(ValueError, match="already labeled"):
        pool.label(["s1"], round=1)
    with pytest.raises(ValueError, match="twice"):
        pool.label(["s2", "s2"], round=1)
    with pytest.raises(KeyError, match="not in the pool"):
        pool.label(["test-subject"], round=1)
    assert pool.n_labeled == 1


def test_state_roundtrip():
    pool = _pool()
    pool.label(["s3", "s4"], round=0)
    pool.label(["s12"], round=1)
    other = _pool()
    other.load_state_dict(pool.state_dict())
    assert other.labeled_ids == pool.labeled_ids
    assert other.labeled_round.tolist() == pool.labeled_round.tolist()
    with pytest.raises(ValueError, match="different pool"):
        _pool(9, 11).load_state_dict({**pool.state_dict(), "ids": ["x"] * 20})


def test_quota_split_largest_remainder():
    assert quota_split(10, {"A": 0.9, "B": 0.1}) == {"A": 9, "B": 1}
    assert quota_split(6, {"A": 0.9, "B": 0.1}) == {"A": 5, "B": 1}  # 5.4 / 0.6
    assert quota_split(5, {"A": 0.5, "B": 0.5}) == {"A": 3, "B": 2}


def test_initial_set_has_the_group_fractions_and_follows_the_seed():
    pool = _pool(50, 50)
    ids = draw_initial_set(pool, 20, {"A": 0.9, "B": 0.1}, np.random.default_rng(0))
    assert sum(pool.group_of(s) == "B" for s in ids) == 2
    assert ids == draw_initial_set(pool, 20, {"A": 0.9, "B": 0.1}, np.random.default_rng(0))
    assert ids != draw_initial_set(pool, 20, {"A": 0.9, "B": 0.1}, np.random.default_rng(1))
    with pytest.raises(ValueError, match="group 'B'"):
        draw_initial_set(_pool(10, 1), 4, {"A": 0.5, "B": 0.5}, np.random.default_rng(0))


def test_split_is_group_balanced_disjoint_and_seeded(tiny_cohort):
    cohort = CohortFolder.load(tiny_cohort)
    split = make_split(cohort, test_per_group=1, val_per_group=1, seed=0)
    assert [cohort.group_of(s) for s in split["test"]].count("A") == 1
    assert [cohort.group_of(s) for s in split["test"]].count("B") == 1
    all_ids = split["test"] + split["val"] + split["pool"]
    assert sorted(all_ids) == sorted(cohort.subject_ids())
    assert split == make_split(cohort, 1, 1, seed=0)
    with pytest.raises(ValueError, match="leave none for the pool"):
        make_split(cohort, test_per_group=2, val_per_group=1, seed=0)
