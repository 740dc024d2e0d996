"""Metrics against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from fair_seg_al.metrics import (
    dice_per_case,
    disparity,
    disparity_sum,
    equity_scaled,
    group_means,
    skewed_error_ratio,
    summarise,
)


def test_dice_per_case_hand_values():
    pred = torch.zeros(3, 2, 2, 2, dtype=torch.bool)
    target = torch.zeros(3, 2, 2, 2, dtype=torch.bool)
    pred[0, 0, 0, :] = True  # 2 voxels
    target[0, 0, :, :] = True  # 4 voxels, 2 shared -> 2*2/(2+4)
    target[1, 1, 1, 1] = True  # prediction empty -> 0
    # case 2: both empty -> 1 by convention
    assert dice_per_case(pred, target).tolist() == pytest.approx([4 / 6, 0.0, 1.0])


def test_group_means_and_disparity_two_groups():
    values = [0.9, 0.7, 0.5, 0.3]
    groups = ["A", "A", "B", "B"]
    by = group_means(values, groups, ["A", "B"])
    assert by == pytest.approx({"A": 0.8, "B": 0.4})
    overall = sum(values) / 4  # 0.6
    assert disparity_sum(by, overall) == pytest.approx(0.2 + 0.2)
    assert disparity(by) == pytest.approx(0.4)
    # ES = 0.6 / (1 + 1 * 0.4) = 0.428571...
    assert equity_scaled(overall, by, alpha=1.0) == pytest.approx(0.6 / 1.4)
    assert equity_scaled(overall, by, alpha=0.5) == pytest.approx(0.6 / 1.2)
    # SER = max error / min error = 0.6 / 0.2
    assert skewed_error_ratio(by) == pytest.approx(3.0)


def test_unbalanced_groups_use_mean_of_images_for_overall():
    values = [1.0, 1.0, 1.0, 0.0]
    groups = ["A", "A", "A", "B"]
    s = summarise("dice", values, groups, ["A", "B"], alpha=1.0)
    assert s["dice"] == pytest.approx(0.75)
    assert s["dice_A"] == 1.0 and s["dice_B"] == 0.0
    assert s["dice_disparity"] == pytest.approx(1.0)
    assert s["dice_disparity_sum"] == pytest.approx(0.25 + 0.75)
    assert s["es_dice"] == pytest.approx(0.75 / 2.0)
    assert math.isinf(s["dice_ser"])  # group A is perfect: zero error


def test_equal_groups_give_no_disparity_and_es_equals_dice():
    s = summarise("dice", [0.8, 0.6, 0.6, 0.8], ["A", "A", "B", "B"], ["A", "B"])
    assert s["dice_disparity"] == pytest.approx(0.0)
    assert s["es_dice"] == pytest.approx(s["dice"]) == pytest.approx(0.7)
    assert s["dice_ser"] == pytest.approx(1.0)
