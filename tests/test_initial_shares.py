"""Initial-set shares and test/validation sizes for any groups, whatever their names."""

from __future__ import annotations

import pytest

from fair_seg_al.data.pool import initial_fractions
from fair_seg_al.data.splits import per_group_count

SIZES = {"F": 50, "M": 30, "X": 20}


def test_balanced_is_equal_shares_over_the_cohort_groups():
    assert initial_fractions({"name": "balanced", "majority_share": None}, SIZES) == pytest.approx(
        {"F": 1 / 3, "M": 1 / 3, "X": 1 / 3}
    )


def test_imbalanced_gives_the_share_to_the_largest_group_by_default():
    got = initial_fractions({"majority_share": 0.8}, SIZES)
    assert got == pytest.approx({"F": 0.8, "M": 0.1, "X": 0.1})


def test_imbalanced_ties_go_to_the_first_group_so_the_synthetic_default_stays_9_to_1():
    assert initial_fractions({"majority_share": 0.9}, {"A": 100, "B": 100}) == pytest.approx({"A": 0.9, "B": 0.1})


def test_imbalanced_toward_a_named_group():
    assert initial_fractions({"majority_share": 0.6, "majority": "X"}, SIZES) == pytest.approx(
        {"F": 0.2, "M": 0.2, "X": 0.6}
    )


def test_explicit_fractions_win_and_are_checked():
    assert initial_fractions({"fractions": {"F": 0.5, "X": 0.5}, "majority_share": 0.9}, SIZES) == {
        "F": 0.5, "M": 0.0, "X": 0.5,
    }  # fmt: skip
    with pytest.raises(ValueError, match=r"fractions: names groups \['A'\] that the cohort does not have"):
        initial_fractions({"fractions": {"A": 1.0}}, SIZES)
    with pytest.raises(ValueError, match="sum to 1"):
        initial_fractions({"fractions": {"F": 0.5, "M": 0.1}}, SIZES)
    with pytest.raises(ValueError, match="majority: 'Z' is not a group"):
        initial_fractions({"majority_share": 0.9, "majority": "Z"}, SIZES)


def test_per_group_counts_and_fractions_of_the_smallest_group():
    assert per_group_count(7, SIZES, "data.test_per_group") == 7
    assert per_group_count(0.25, SIZES, "data.test_per_group") == 5  # 0.25 x 20 (X, the smallest)
    assert per_group_count(0.01, SIZES, "data.val_per_group") == 1  # a positive share is at least one
    assert per_group_count(3.0, SIZES, "data.val_per_group") == 3
    for bad in (-1, 1.5, "ten", True):
        with pytest.raises(ValueError, match="data.test_per_group must be a count"):
            per_group_count(bad, SIZES, "data.test_per_group")
