"""Strategies against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fair_seg_al.strategies import (
    EntropyStrategy,
    MaskedEntropyStrategy,
    RandomStrategy,
    SelectionContext,
    StratifiedRandomStrategy,
    WeightedEntropyStrategy,
    voxel_entropy,
)


def two_class(fg: torch.Tensor) -> torch.Tensor:
    """(B, X, Y, Z) foreground probability -> (B, 2, X, Y, Z) probabilities."""
    return torch.stack([1 - fg, fg], dim=1)


def test_uniform_probabilities_give_log2_per_voxel():
    probs = two_class(torch.full((2, 4, 4, 4), 0.5))
    assert torch.allclose(voxel_entropy(probs), torch.full((2, 4, 4, 4), math.log(2)))
    assert EntropyStrategy().score(probs).tolist() == pytest.approx([math.log(2)] * 2)


def test_certain_prediction_has_zero_entropy():
    probs = two_class(torch.zeros(1, 3, 3, 3))
    assert EntropyStrategy().score(probs).item() == pytest.approx(0.0, abs=1e-9)


def _structure(size: int, p_inside: float = 0.7) -> torch.Tensor:
    """A 16^3 volume with a size^3 cube predicted foreground (p=0.7), certain background."""
    fg = torch.zeros(1, 16, 16, 16)
    fg[0, 2 : 2 + size, 2 : 2 + size, 2 : 2 + size] = p_inside
    return two_class(fg)


def test_masked_entropy_does_not_grow_with_structure_volume():
    small, large = _structure(3), _structure(10)
    h = -(0.7 * math.log(0.7) + 0.3 * math.log(0.3))  # the same voxel uncertainty in both
    masked = MaskedEntropyStrategy(margin=0)
    assert masked.score(small).item() == pytest.approx(h, rel=1e-5)
    assert masked.score(large).item() == pytest.approx(h, rel=1e-5)
    # whereas whole-volume entropy scales with the structure's volume
    plain = EntropyStrategy()
    assert plain.score(large).item() == pytest.approx(h * 1000 / 4096, rel=1e-5)
    assert plain.score(large).item() > 30 * plain.score(small).item()


def test_masked_entropy_margin_dilates_the_roi():
    probs = _structure(4)
    h = -(0.7 * math.log(0.7) + 0.3 * math.log(0.3))
    # margin 1: the 4^3 cube grows to 6^3, the shell has zero entropy: mean = h * 64 / 216
    assert MaskedEntropyStrategy(margin=1).score(probs).item() == pytest.approx(h * 64 / 216, rel=1e-5)


def test_empty_roi_rules():
    fg = torch.full((1, 4, 4, 4), 0.2)  # no voxel predicted foreground
    probs = two_class(fg)
    h = -(0.2 * math.log(0.2) + 0.8 * math.log(0.8))
    assert MaskedEntropyStrategy(empty_roi="max").score(probs).item() == pytest.approx(math.log(2))
    assert MaskedEntropyStrategy(empty_roi="global").score(probs).item() == pytest.approx(h, rel=1e-5)
    assert MaskedEntropyStrategy(empty_roi="zero").score(probs).item() == 0.0
    with pytest.raises(ValueError, match="empty_roi"):
        MaskedEntropyStrategy(empty_roi="nope")


def test_weights_one_minus_dice_hand_values():
    s = WeightedEntropyStrategy(weight_form="one_minus_dice", weight_floor=0.0)
    w = s.group_weights(SelectionContext(round=0, group_performance={"A": 0.9, "B": 0.6}))
    # errors 0.1, 0.4; mean 0.25 -> 0.4, 1.6
    assert w == pytest.approx({"A": 0.4, "B": 1.6})
    # the default floor 0.1: 0.1 + 0.9 w -> 0.46, 1.54 (mean still 1)
    w = WeightedEntropyStrategy().group_weights(SelectionContext(round=0, group_performance={"A": 0.9, "B": 0.6}))
    assert w == pytest.approx({"A": 0.46, "B": 1.54})


def test_weights_softmax_hand_values():
    s = WeightedEntropyStrategy(weight_form="softmax", temperature=0.1, weight_floor=0.0)
    w = s.group_weights(SelectionContext(round=0, group_performance={"A": 0.9, "B": 0.6}))
    e = math.exp(-9.0), math.exp(-6.0)
    assert w == pytest.approx({"A": 2 * e[0] / sum(e), "B": 2 * e[1] / sum(e)})
    assert w["B"] > w["A"]


def test_weighted_entropy_prefers_the_worse_group():
    s = WeightedEntropyStrategy()
    ctx = SelectionContext(round=0, group_performance={"A": 0.9, "B": 0.6})
    # A's images are a bit more uncertain; B's weight (1.6 vs 0.4) must win
    raw = np.array([0.50, 0.48, 0.30, 0.29])
    groups = ["A", "A", "B", "B"]
    scores = raw * s.image_weights(groups, ctx)
    picked = s.select(scores, groups, 2, np.random.default_rng(0))
    assert sorted(picked.tolist()) == [2, 3]
    # plain entropy would have taken A's
    assert sorted(EntropyStrategy().select(raw, groups, 2, np.random.default_rng(0)).tolist()) == [0, 1]


def test_weighted_entropy_needs_group_performance():
    with pytest.raises(ValueError, match="per-group performance"):
        WeightedEntropyStrategy().image_weights(["A"], SelectionContext(round=0))


def test_ties_are_broken_by_the_seed():
    scores = np.ones(10)
    a = EntropyStrategy().select(scores, ["A"] * 10, 3, np.random.default_rng(1))
    b = EntropyStrategy().select(scores, ["A"] * 10, 3, np.random.default_rng(1))
    assert a.tolist() == b.tolist()
    picks = {
        tuple(EntropyStrategy().select(scores, ["A"] * 10, 3, np.random.default_rng(s)).tolist()) for s in range(6)
    }
    assert len(picks) > 1


def test_random_is_seeded_and_without_replacement():
    groups = ["A"] * 20
    a = RandomStrategy().select(np.full(20, np.nan), groups, 7, np.random.default_rng(3))
    assert len(set(a.tolist())) == 7
    assert a.tolist() == RandomStrategy().select(np.full(20, np.nan), groups, 7, np.random.default_rng(3)).tolist()


def test_stratified_random_splits_evenly_and_redistributes():
    groups = ["A"] * 10 + ["B"] * 10
    picked = StratifiedRandomStrategy().select(np.zeros(20), groups, 6, np.random.default_rng(0))
    assert sum(groups[i] == "B" for i in picked) == 3
    # odd budget: one group gets the extra
    picked = StratifiedRandomStrategy().select(np.zeros(20), groups, 5, np.random.default_rng(0))
    assert sorted([sum(groups[i] == g for i in picked) for g in "AB"]) == [2, 3]
    # a group with too few images hands its quota to the other
    groups = ["A"] * 10 + ["B"] * 1
    picked = StratifiedRandomStrategy().select(np.zeros(11), groups, 6, np.random.default_rng(0))
    assert len(set(picked.tolist())) == 6 and sum(groups[i] == "B" for i in picked) == 1


def test_fast_foreground_and_dilation_match_torch_reference():
    from torch.nn import functional as F

    from fair_seg_al.metrics import argmax_is
    from fair_seg_al.strategies.entropy import dilate_cube

    g = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 3, (3, 4, 6, 7, 5), generator=g).float()  # many ties
    for index in range(4):
        assert torch.equal(argmax_is(scores, index), scores.argmax(dim=1) == index)
    mask = torch.rand(2, 9, 8, 7, generator=g) > 0.9
    for margin in (0, 1, 2, 3):
        ref = F.max_pool3d(mask.float()[:, None], 2 * margin + 1, stride=1, padding=margin)[:, 0] > 0
        assert torch.equal(dilate_cube(mask, margin), ref)
