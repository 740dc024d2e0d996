"""sweeps/rerun_report.py: a rerun's verdicts are interim until its planned seeds are in, read only
the plan's seeds, sit beside the old cell's in the plan's order, and give claim (a)'s size."""

from __future__ import annotations

import numpy as np
import pandas as pd
from rerun_report import completeness, old_vs_new, old_vs_new_markdown, reductions

from fair_seg_al.analysis.plans import planned_runs

PLAN = {"cell": {"seeds": [0, 3]}}  # four planned seeds
KEYS = {"family": "f", "reference": "stratified_random", "init": "imbalanced", "metric": "worst_dice", "summary": "auc"}


def test_interim_until_every_comparison_has_the_planned_seeds():
    assert completeness(pd.DataFrame({"seeds": [4, 3]}), PLAN).startswith("Interim: 3 of the plan's 4 seeds")
    assert completeness(pd.DataFrame({"seeds": [4, 0]}), PLAN).startswith("Interim: 0 of the plan's 4 seeds")
    assert completeness(pd.DataFrame({"seeds": [4, 4]}), PLAN) == "All 4 planned seeds."


def test_a_seed_beyond_the_plan_never_enters_its_verdicts():
    metrics = pd.DataFrame({"seed": [0, 1, 2, 3, 4, 5], "worst_dice": 0.8})
    assert planned_runs(metrics, PLAN)["seed"].tolist() == [0, 1, 2, 3]
    assert planned_runs(metrics, {"cell": {}})["seed"].tolist() == [0, 1, 2, 3, 4, 5]  # no seeds declared: all


def test_old_and_new_side_by_side_in_the_plans_order_with_a_test_the_old_cell_lacks():
    new = pd.DataFrame(
        [
            {**KEYS, "strategy": "candidate", "seeds": 36, "verdict": "equivalent within +-0.01 (+0.001)"},
            {**KEYS, "strategy": "composition_control", "seeds": 36, "verdict": "resolved better (+0.012)"},
        ]
    )
    old = pd.DataFrame([{**KEYS, "strategy": "composition_control", "seeds": 12, "verdict": "inconclusive (+0.008)"}])
    both = old_vs_new(old, new)
    assert both["strategy"].tolist() == ["candidate", "composition_control"]
    assert np.isnan(both["seeds_old"].iloc[0]) and both["verdict_old"].iloc[1] == "inconclusive (+0.008)"
    text = old_vs_new_markdown(both.iloc[1:], "All 36 planned seeds.", "cmd")
    row = "| composition_control | stratified_random | imbalanced | worst_dice (auc) | inconclusive (+0.008) (12) "
    assert row + "| resolved better (+0.012) (36) |" in text


def test_claim_as_size_by_hand():
    # entropy's disparity 0.10 in every seed, Weighted Entropy's 0.05: a 50 % cut, every bootstrap too
    metrics = pd.DataFrame(
        [
            {"init": "balanced", "seed": s, "strategy": k, "disparity": v}
            for s in range(6)
            for k, v in (("entropy", 0.10), ("weighted_entropy", 0.05))
        ]
    )
    text = reductions(metrics, 86.0)
    assert (
        "- balanced start, 6 seeds: +50 % [+50, +50] (95 % bootstrap over seeds); the paper's 86 % is outside" in text
    )
