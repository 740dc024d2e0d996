"""Group-performance estimators against hand-worked values, with fake models (no Trainer)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from fair_seg_al.data.pool import ActivePool
from fair_seg_al.estimation import (
    EstimationInputs,
    HoldoutEstimator,
    KFoldEstimator,
    Measurement,
    OracleEstimator,
    PrequentialEstimator,
    TrainSetEstimator,
    apply_small_group_rule,
    stratified_folds,
)

GROUP = {**{f"a{i}": "A" for i in range(20)}, **{f"b{i}": "B" for i in range(20)}}
# a fake model: a fixed Dice per image
FAKE_DICE = {sid: (0.9 if g == "A" else 0.6) - 0.01 * int(sid[1:]) for sid, g in GROUP.items()}


def fake_inputs(train=(), held=(), round=1, **kw) -> EstimationInputs:
    return EstimationInputs(
        round=round,
        groups=["A", "B"],
        group_of=GROUP.__getitem__,
        train_ids=list(train),
        held_out_ids=list(held),
        dice=lambda ids: np.array([FAKE_DICE[s] for s in ids]),
        **kw,
    )


# ------------------------------------------------------------------ small groups
def test_shrinkage_by_hand():
    m = Measurement({"A": [0.9, 0.8], "B": [0.5], "C": []})
    est = apply_small_group_rule(m, ["A", "B", "C"], "shrink", prior_strength=2.0)
    pooled = (0.9 + 0.8 + 0.5) / 3
    assert est["A"].estimate == pytest.approx((1.7 + 2 * pooled) / 4)  # 0.791667
    assert est["B"].estimate == pytest.approx((0.5 + 2 * pooled) / 3)  # 0.655556
    assert est["C"].estimate == pytest.approx(pooled) and not est["C"].measurable
    assert est["A"].raw == pytest.approx(0.85) and est["A"].n_images == 2
    # prior strength 0: plain means
    assert apply_small_group_rule(m, ["A", "B"], "shrink", 0.0)["B"].estimate == pytest.approx(0.5)


def test_zero_and_none_rules_for_a_group_without_images():
    m = Measurement({"A": [0.9, 0.8], "B": []})
    assert apply_small_group_rule(m, ["A", "B"], "zero")["B"].estimate == 0.0
    assert np.isnan(apply_small_group_rule(m, ["A", "B"], "none")["B"].estimate)
    # nothing measured at all: no estimate, under shrinkage too
    empty = apply_small_group_rule(Measurement({"A": [], "B": []}), ["A", "B"], "shrink")
    assert all(np.isnan(e.estimate) and not e.measurable for e in empty.values())


# ------------------------------------------------------------------ train / holdout
def test_train_estimator_measures_only_training_images():
    est = TrainSetEstimator(small_groups="none").estimate(fake_inputs(train=["a1", "a3", "b2"], held=["a0"]))
    assert est["A"].estimate == pytest.approx((0.89 + 0.87) / 2) and est["A"].n_images == 2
    assert est["B"].estimate == pytest.approx(0.58)


def test_holdout_estimator_measures_only_held_out_images():
    est = HoldoutEstimator(small_groups="none").estimate(fake_inputs(train=["a1", "b1"], held=["a0", "a2", "b3"]))
    assert est["A"].estimate == pytest.approx((0.90 + 0.88) / 2) and est["A"].n_images == 2
    assert est["B"].estimate == pytest.approx(0.57) and est["B"].n_images == 1


def test_holdout_assignment_by_hand():
    h = HoldoutEstimator(fraction=0.25, min_held=2, min_train=1)
    # target(n) = min(n - 1, max(2, round(n / 4)))
    assert [h.target(n) for n in (0, 1, 2, 3, 9, 10, 14, 25)] == [0, 0, 1, 2, 2, 3, 4, 6]
    # a 9 A / 1 B start: A holds out its first two, B keeps its one image for training
    init = [f"a{i}" for i in range(9)] + ["b0"]
    assert h.assign_holdout(init, GROUP.__getitem__, {"A": 0, "B": 0}, {"A": 0, "B": 0}) == ["a0", "a1"]
    # then 5 A + 5 B: A 14 -> 4 held (2 more), B 6 -> 2 held (both from this batch)
    batch = ["b1", "a9", "b2", "a10", "b3", "a11", "b4", "a12", "b5", "a13"]
    held = h.assign_holdout(batch, GROUP.__getitem__, {"A": 9, "B": 1}, {"A": 2, "B": 0})
    assert held == ["b1", "b2", "a9", "a10"]  # per group, in the order they were selected


def test_held_out_flags_are_fixed_at_labeling_and_never_train():
    pool = ActivePool(list(GROUP), list(GROUP.values()))
    pool.label(["a0", "a1", "a2", "b0"], 0, held_out=["a0"])
    assert pool.held_out_ids == ["a0"] and pool.train_ids == ["a1", "a2", "b0"]
    pool.label(["b1", "b2"], 1, held_out=["b2"])
    assert pool.held_out_ids == ["a0", "b2"]
    assert pool.counts(["A", "B"], held_out=True) == {"A": 1, "B": 1}
    # the flag survives a state round trip
    other = ActivePool(list(GROUP), list(GROUP.values()))
    other.load_state_dict(pool.state_dict())
    assert other.held_out_ids == ["a0", "b2"] and other.train_ids == pool.train_ids
    with pytest.raises(ValueError, match="held-out ids"):
        pool.label(["a5"], 2, held_out=["a6"])


# ------------------------------------------------------------------ prequential
def _prequential(**kw) -> PrequentialEstimator:
    p = PrequentialEstimator(small_groups="none", **kw)
    p.observe_acquired(0, ["a0", "b0", "b1"], ["A", "B", "B"], np.array([0.6, 0.4, 0.2]))  # round 0's model
    p.observe_acquired(1, ["a1", "b2"], ["A", "B"], np.array([0.8, 0.6]))  # round 1's model
    return p


def test_prequential_running_mean_window_and_decay_by_hand():
    est = _prequential().estimate(fake_inputs(round=2))
    assert est["A"].estimate == pytest.approx(0.7) and est["B"].estimate == pytest.approx(0.4)
    # decay 0.5: the batch one round older counts half
    est = _prequential(decay=0.5).estimate(fake_inputs(round=2))
    assert est["A"].estimate == pytest.approx((0.5 * 0.6 + 0.8) / 1.5)  # 0.7333
    assert est["B"].estimate == pytest.approx((0.5 * 0.4 + 0.5 * 0.2 + 0.6) / 2.0)  # 0.45
    # window 1: only the batch measured by the previous round's model
    est = _prequential(window=1).estimate(fake_inputs(round=2))
    assert est["A"].estimate == pytest.approx(0.8) and est["B"].n_images == 1
    # at round 1 only round 0's batch exists; at round 0 nothing at all
    assert _prequential().estimate(fake_inputs(round=1))["A"].estimate == pytest.approx(0.6)
    assert all(not e.measurable for e in _prequential().estimate(fake_inputs(round=0)).values())


def test_prequential_history_survives_a_state_round_trip():
    p = _prequential()
    q = PrequentialEstimator(small_groups="none")
    q.load_state_dict(p.state_dict())
    assert q.estimate(fake_inputs(round=2))["B"].estimate == pytest.approx(0.4)


# ------------------------------------------------------------------ k-fold
def test_folds_are_group_stratified_and_cover_every_image_once():
    ids = [f"a{i}" for i in range(7)] + [f"b{i}" for i in range(3)]
    folds = stratified_folds(ids, GROUP.__getitem__, 3, seed=0)
    assert sorted(sum(folds, [])) == sorted(ids)
    assert sorted(len(f) for f in folds) == [3, 3, 4]
    assert all(sum(GROUP[s] == "B" for s in f) == 1 for f in folds)
    assert stratified_folds(ids, GROUP.__getitem__, 3, seed=0) == folds
    assert len(stratified_folds(["a0", "a1"], GROUP.__getitem__, 3, 0)) == 2  # empty folds dropped


def test_kfold_measures_every_image_out_of_fold():
    calls = []

    def finetune_dice(train_ids, eval_ids, steps, seed, start):
        assert not set(train_ids) & set(eval_ids)  # out of fold
        calls.append((sorted(train_ids), sorted(eval_ids), steps, start))
        return np.array([FAKE_DICE[s] - 0.1 for s in eval_ids])  # the fine-tuned copy is a bit worse

    train = ["a0", "a1", "a2", "a3", "b0", "b1"]
    k = KFoldEstimator(k=3, steps=7, start="scratch", small_groups="none")
    est = k.estimate(fake_inputs(train=train, finetune_dice=finetune_dice))
    assert len(calls) == 3 and all(c[2] == 7 and c[3] == "scratch" for c in calls)
    assert sorted(sum((c[1] for c in calls), [])) == sorted(train)
    assert est["A"].estimate == pytest.approx(np.mean([0.9, 0.89, 0.88, 0.87]) - 0.1)
    assert est["B"].n_images == 2
    with pytest.raises(ValueError, match="k must be"):
        KFoldEstimator(k=1)


# ------------------------------------------------------------------ oracle, and who reads the test set
def test_oracle_is_the_test_dice_and_the_others_never_need_it():
    inputs = fake_inputs(
        train=["a0", "b0"], held=["a1", "b1"], test_groups=["A", "A", "B"], test_dice=np.array([0.8, 0.6, 0.3])
    )
    est = OracleEstimator().estimate(inputs)
    assert est["A"].estimate == pytest.approx(0.7) and est["B"].estimate == pytest.approx(0.3)
    assert OracleEstimator.is_oracle
    # every non-oracle estimator works with the test set absent
    blind = fake_inputs(train=["a0", "b0"], held=["a1", "b1"])
    for e in (TrainSetEstimator(), HoldoutEstimator(), PrequentialEstimator()):
        assert not e.is_oracle
        e.estimate(blind)
    with pytest.raises(RuntimeError, match="test Dice"):
        OracleEstimator().estimate(blind)


# ------------------------------------------------------------------ the callback's labeling unit, without a Trainer
def fake_datamodule(monkeypatch):
    """A pool of GROUP's images behind a stand-in DataModule whose 'model' scores FAKE_DICE."""
    pool = ActivePool(list(GROUP), list(GROUP.values()))
    dm = SimpleNamespace(pool=pool, groups=["A", "B"], group_of=GROUP.__getitem__, loader=lambda ids: ids)
    monkeypatch.setattr(
        "fair_seg_al.al.callback.dice_of_images",
        lambda module, ids: (ids, [GROUP[s] for s in ids], np.array([FAKE_DICE[s] for s in ids])),
    )
    return pool, dm


def test_label_batch_fixes_held_out_flags_and_feeds_prequential(monkeypatch, tmp_path):
    from fair_seg_al.al.callback import AcquisitionCallback
    from fair_seg_al.al.spec import ALSettings, RunSpec
    from fair_seg_al.strategies import WeightedEntropyStrategy

    pool, dm = fake_datamodule(monkeypatch)
    preq = PrequentialEstimator(small_groups="none")
    strategy = WeightedEntropyStrategy(estimator=HoldoutEstimator())
    cb = AcquisitionCallback(RunSpec(dm, strategy, ALSettings(budget=4, rounds=2), 0, tmp_path, probes={"preq": preq}))
    cb.label_batch([f"a{i}" for i in range(9)] + ["b0"], 0)  # no model yet: nothing observed
    assert pool.held_out_ids == ["a0", "a1"] and preq.history == []
    cb.label_batch(["b1", "b2", "a9"], 1, module=object())
    # B: 3 labeled -> target min(3 - 1, max(2, 1)) = 2 held, both new; A: 10 -> 3 held, one new
    assert pool.held_out_ids == ["a0", "a1", "a9", "b1", "b2"]
    # the selecting model (round 0) measured the batch before training on it
    assert [(r, s) for r, s, _, _ in preq.history] == [(0, "b1"), (0, "b2"), (0, "a9")]
    rows = cb.recorder.selection_rows
    assert [r["held_out"] for r in rows if r["round"] == 1] == [True, True, True]
    assert [r["held_out"] for r in rows if r["round"] == 0] == [True, True] + [False] * 8


def test_pool_truth_is_the_mean_dice_of_every_unlabeled_image(monkeypatch, tmp_path):
    from fair_seg_al.al.callback import AcquisitionCallback
    from fair_seg_al.al.spec import ALSettings, RunSpec
    from fair_seg_al.strategies import RandomStrategy

    pool, dm = fake_datamodule(monkeypatch)
    cb = AcquisitionCallback(RunSpec(dm, RandomStrategy(), ALSettings(budget=4, rounds=2), 0, tmp_path))
    labeled = [f"a{i}" for i in range(8)] + ["b0"]
    pool.label(labeled, 0)
    truth = cb.pool_truth(object())
    rest = {g: [FAKE_DICE[s] for s in GROUP if GROUP[s] == g and s not in labeled] for g in ("A", "B")}
    for g, values in rest.items():
        assert truth[g]["pool_images"] == len(values)
        assert truth[g]["pool_dice"] == pytest.approx(sum(values) / len(values))
        assert truth[g]["pool_dice_se"] == pytest.approx(np.std(values, ddof=1) / np.sqrt(len(values)))
