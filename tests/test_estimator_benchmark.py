"""The estimator benchmark's numbers (fair_seg_al.analysis.estimators; its decision rule in
sweeps/studies/estimators.py), from hand-made archived runs."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from omegaconf import OmegaConf
from studies.estimators import pool_decision

from fair_seg_al.analysis import estimators as bench


def _config(run, arm, seed):
    """The resolved config an archived run holds (the keys the run reader uses)."""
    cfg = {"strategy": {"name": arm}, "bias": {"name": "strong"}, "init": {"name": "imbalanced"}, "seed": seed,
           "al": {"rounds": 1}}  # fmt: skip
    OmegaConf.save(OmegaConf.create(cfg), run / ".hydra" / "config.yaml")


def _run(root, seed, points):
    """points: [(round, estimator, est_A, est_B, test_A, test_B, seconds)]"""
    run = root / f"random-strong-imbalanced-seed{seed}"
    (run / ".hydra").mkdir(parents=True)
    _config(run, "random", seed)
    rows = []
    for rnd, name, ea, eb, ta, tb, sec in points:
        for g, e, t in (("A", ea, ta), ("B", eb, tb)):
            rows.append(
                {
                    "round": rnd,
                    "estimator": name,
                    "group": g,
                    "n_images": 3,
                    "raw": e,
                    "estimate": e,
                    "test_dice": t,
                    "seconds": sec,
                }
            )
    pd.DataFrame(rows).to_csv(run / "estimates.csv", index=False)
    rounds = sorted({p[0] for p in points})
    pd.DataFrame({"round": rounds, "n_labeled": [10 * (r + 1) for r in rounds], "seconds_train": 2.0}).to_csv(
        run / "rounds.csv", index=False
    )
    sel = pd.DataFrame(
        {"round": [0, 0, 1], "subject_id": ["s0", "s1", "s2"], "group": "A", "held_out": [True, False, True]}
    )
    sel.to_csv(run / "selections.csv", index=False)


def test_right_side_bias_and_cost_by_hand(tmp_path):
    # test gaps +0.2, +0.1, -0.1, +0.3; "good" gets every sign right, "bad" only the first,
    # "flat" estimates a gap of exactly 0 once (wrong by rule)
    _run(
        tmp_path,
        0,
        [
            (0, "good", 0.8, 0.7, 0.7, 0.5, 1.0),
            (1, "good", 0.9, 0.8, 0.8, 0.7, 3.0),
            (0, "bad", 0.9, 0.8, 0.7, 0.5, 0.0),
            (1, "bad", 0.7, 0.8, 0.8, 0.7, 0.0),
        ],
    )
    _run(
        tmp_path,
        1,
        [
            (0, "good", 0.5, 0.6, 0.6, 0.7, 1.0),
            (1, "good", 0.9, 0.5, 0.9, 0.6, 1.0),
            (0, "bad", 0.6, 0.5, 0.6, 0.7, 0.0),
            (1, "bad", 0.6, 0.6, 0.9, 0.6, 0.0),
        ],
    )
    est, rounds = bench.load(tmp_path)
    assert rounds["held_out_labels"].tolist() == [1, 2, 1, 2]
    table = bench.summarise(est, rounds)
    t = table[(table["rule"] == "shrink") & (table["bias"] == "strong")].set_index("estimator")
    assert t.loc["good", "right_side"] == 1.0
    assert t.loc["bad", "right_side"] == pytest.approx(1 / 4)  # +0.1 vs +0.2 right; -0.1, +0.1, 0 wrong
    # bias of "good" on A: run 0: (0.8-0.7, 0.9-0.8) -> 0.1; run 1: (-0.1, 0.0) -> -0.05; mean 0.025
    assert t.loc["good", "bias_A"] == pytest.approx(0.025)
    # gap error |est gap - test gap|: 0.1, 0.0, 0.0, 0.1 -> 0.05
    assert t.loc["good", "gap_mae"] == pytest.approx(0.05)
    # seconds per round: rows are per group, counted once per round: (1 + 3 + 1 + 1) / 4
    assert t.loc["good", "seconds_per_round"] == pytest.approx(1.5)


def test_constant_reference_and_weight_ratio_by_hand(tmp_path):
    # default weights from Dice 0.8 / 0.6: errors 0.2 / 0.4 -> 2/3, 4/3 -> floor 0.1: 0.7, 1.3
    assert bench.log_weight_ratio(0.8, 0.6) == pytest.approx(math.log(1.3 / 0.7))
    _run(tmp_path, 0, [(0, "oracle", 0.7, 0.5, 0.7, 0.5, 0.0), (1, "oracle", 0.8, 0.7, 0.8, 0.7, 0.0)])
    _run(tmp_path, 1, [(0, "oracle", 0.6, 0.7, 0.6, 0.7, 0.0), (1, "oracle", 0.9, 0.6, 0.9, 0.6, 0.0)])
    est, rounds = bench.load(tmp_path)
    table = bench.summarise(est, rounds)
    ref = table[(table["estimator"] == "constant (reference)") & (table["bias"] == "strong")].iloc[0]
    assert ref["right_side"] == pytest.approx(3 / 4) and ref["negative_gap_points"] == 1
    oracle = table[(table["estimator"] == "oracle") & (table["bias"] == "strong")].iloc[0]
    assert oracle["logratio_mae"] == 0.0 and oracle["right_side_balanced"] == 1.0


def _pool_run(root, seed, arm, rows):
    """rows: [(round, estimator, est_A, est_B, pool_A, pool_B)]; the test Dice equals the pool's."""
    run = root / f"{arm}-strong-imbalanced-seed{seed}"
    (run / ".hydra").mkdir(parents=True)
    _config(run, arm, seed)
    out = []
    for rnd, name, ea, eb, pa, pb in rows:
        for g, e, p in (("A", ea, pa), ("B", eb, pb)):
            out.append(
                {"round": rnd, "estimator": name, "group": g, "n_images": 3, "raw_estimate": e, "estimate": e,
                 "test_dice": p, "seconds": 1.0, "pool_dice": p, "pool_dice_se": 0.01, "pool_images": 50}
            )  # fmt: skip
    pd.DataFrame(out).to_csv(run / "estimates.csv", index=False)
    pd.DataFrame({"round": [0, 1], "n_labeled": [10, 20], "seconds_train": 2.0}).to_csv(run / "rounds.csv", index=False)
    pd.DataFrame({"round": [0], "subject_id": ["s0"], "group": "A", "held_out": [False]}).to_csv(
        run / "selections.csv", index=False
    )


def test_pool_truth_scores_and_the_decision_by_hand(tmp_path):
    # pool truth (A, B) per round differs by run; "exact" estimates it, "off" misses B by +0.1 (B looks better)
    # every run has a large gap in round 0 and none in round 1, so "B is worse by the mean ratio" is off
    # by about the same amount in each run (its per-run error is resolved above 0)
    truths = {0: [(0.8, 0.4), (0.7, 0.7)], 1: [(0.8, 0.42), (0.7, 0.69)], 2: [(0.79, 0.4), (0.71, 0.7)]}
    for seed, pts in truths.items():
        rows = []
        for rnd, (pa, pb) in enumerate(pts):
            rows += [
                (rnd, "oracle", pa, pb, pa, pb),
                (rnd, "exact", pa, pb, pa, pb),
                (rnd, "off", pa, pb + 0.1, pa, pb),
            ]
        _pool_run(tmp_path, seed, "masked_entropy", rows)
    est, rounds = bench.load(tmp_path)
    scores = bench.pool_scores(est)
    pooled = scores[(scores["bias"] == "all") & (scores["init"] == "all")].set_index("estimator")
    assert pooled.loc["exact", "lr_err"] == 0.0 and pooled.loc["oracle", "lr_err"] == 0.0
    # "off": per point |log ratio from (A, B + 0.1) - from (A, B)| (log_weight_ratio is checked by hand above)
    cell = scores[scores["bias"] == "strong"].set_index("estimator")
    per_point = [abs(bench.log_weight_ratio(pa, pb + 0.1) - bench.log_weight_ratio(pa, pb)) for pa, pb in truths[0]]
    run0 = next(v for k, v in cell.loc["off", "per_run_lr_err"].items() if k.endswith("seed0"))
    assert run0 == pytest.approx(sum(per_point) / 2) and run0 > 0
    # the constant guess: |mean true ratio - true ratio|, > 0 here since the truths differ
    assert pooled.loc["constant (reference)", "lr_err"] > 0
    text = "\n".join(pool_decision(scores, bench.summarise(est, rounds)))
    assert "Lowest log weight-ratio error: `exact` (0.000)" in text
    assert "| off |" in text and "| yes |" in text.split("| off |")[1].split("\n")[0]
    assert "**the decision is `exact`**" in text
