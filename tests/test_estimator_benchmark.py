"""The estimator benchmark's numbers, from hand-made raw run files."""

from __future__ import annotations

import importlib.util
import math

import pandas as pd
import pytest
from omegaconf import OmegaConf

from tests.conftest import REPO

spec = importlib.util.spec_from_file_location("estimator_benchmark", REPO / "benchmarks" / "estimator_benchmark.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def _run(root, seed, points):
    """points: [(round, estimator, est_A, est_B, test_A, test_B, seconds)]"""
    run = root / f"random-strong-imbalanced-seed{seed}"
    run.mkdir(parents=True)
    cfg = {"strategy": {"name": "random"}, "bias": {"name": "strong"}, "init": {"name": "imbalanced"}, "seed": seed}
    OmegaConf.save(OmegaConf.create(cfg), run / "config.yaml")
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
