"""Study plans as data (issue 33): the engine's verdicts on hand-built runs, and bad plans named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from fair_seg_al.analysis.plans import PlanError, load_plan, markdown, verdict_table
from fair_seg_al.analysis.stats import holm, tost

PLAN = {
    "baseline": "base",
    "metrics": [{"name": "worst_dice", "summary": "final"}],
    "better": "higher",
    "margin": 0.01,
    "families": {
        "main": {
            "reference": "base",
            "comparisons": [
                {"strategy": "up", "inits": ["imbalanced"]},
                {"strategy": "same", "inits": ["imbalanced"]},
                {"strategy": "noisy", "inits": ["imbalanced"]},
                {"strategy": "absent", "inits": ["imbalanced"]},
            ],
        }
    },
}


def runs(seeds: int = 10) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    base = rng.uniform(0.8, 0.85, seeds)
    shifts = {
        "base": np.zeros(seeds),
        "up": 0.03 + 0.002 * rng.standard_normal(seeds),  # resolved better, far beyond the margin
        "same": 0.001 * rng.standard_normal(seeds),  # well inside +-0.01
        "noisy": 0.03 * rng.standard_normal(seeds),  # neither
    }
    return pd.DataFrame(
        [
            {"strategy": s, "init": "imbalanced", "seed": i, "worst_dice": base[i] + d[i]}
            for s, d in shifts.items()
            for i in range(seeds)
        ]
    )


def test_the_four_outcomes_and_one_holm_family_over_differences_and_equivalences():
    metrics = runs()
    table = verdict_table(metrics, PLAN).set_index("strategy")
    assert table.loc["up", "verdict"].startswith("resolved better")
    assert table.loc["same", "verdict"].startswith("equivalent within +-0.01")
    assert table.loc["noisy", "verdict"].startswith("inconclusive")
    assert table.loc["absent", "verdict"] == "no runs" and table.loc["absent", "seeds"] == 0
    # recomputed by hand: the family's 3 t-tests and 3 TOSTs adjusted together
    wide = metrics.pivot(index="seed", columns="strategy", values="worst_dice")
    diffs = {s: (wide[s] - wide["base"]).to_numpy() for s in ("up", "same", "noisy")}
    from scipy import stats

    t_p = [stats.ttest_1samp(d, 0).pvalue for d in diffs.values()]
    tost_p = [tost(d, 0.01) for d in diffs.values()]
    adjusted = holm(t_p + tost_p)
    for i, s in enumerate(("up", "same", "noisy")):
        assert table.loc[s, "p_holm"] == pytest.approx(adjusted[i])
        assert table.loc[s, "tost_p_holm"] == pytest.approx(adjusted[3 + i])
        assert table.loc[s, "mean"] == pytest.approx(diffs[s].mean())
    assert "| up | base | imbalanced | worst_dice (final) | 10 | resolved better" in markdown(
        verdict_table(metrics, PLAN), PLAN, "python -m fair_seg_al.analysis.plans plan.yaml"
    )


def test_a_comparison_may_name_its_own_reference_within_the_family():
    plan = {**PLAN, "families": {"main": {"reference": "base", "comparisons": [
        {"strategy": "up", "inits": ["imbalanced"]},
        {"strategy": "up", "reference": "same", "inits": ["imbalanced"]},
    ]}}}  # fmt: skip
    table = verdict_table(runs(), plan)
    assert list(table["reference"]) == ["base", "same"]
    wide = runs().pivot(index="seed", columns="strategy", values="worst_dice")
    assert table["mean"].iloc[1] == pytest.approx((wide["up"] - wide["same"]).mean())


def test_a_comparison_may_ask_its_own_metric_and_direction():
    metrics = runs()
    metrics["disparity"] = 1 - metrics["worst_dice"]  # up has the higher Dice, so the lower disparity
    plan = {**PLAN, "families": {"main": {"reference": "base", "comparisons": [
        {"strategy": "up", "inits": ["imbalanced"]},
        {"strategy": "up", "inits": ["imbalanced"], "better": "lower", "metrics": [{"name": "disparity"}]},
    ]}}}  # fmt: skip
    table = verdict_table(metrics, plan)
    assert list(table["metric"]) == ["worst_dice", "disparity"]
    assert table["verdict"].iloc[0].startswith("resolved better") and table["verdict"].iloc[1].startswith(
        "resolved better"
    )
    assert table["mean"].iloc[1] == pytest.approx(-table["mean"].iloc[0])


def test_lower_is_better_turns_the_words():
    plan = {**PLAN, "better": "lower"}
    table = verdict_table(runs(), plan).set_index("strategy")
    assert table.loc["up", "verdict"].startswith("resolved worse")


def test_a_bad_plan_is_refused_naming_the_key(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump({**PLAN, "marginn": 0.01}))
    with pytest.raises(PlanError, match="marginn: unknown key"):
        load_plan(path)
    path.write_text(yaml.safe_dump({**PLAN, "margin": -1}))
    with pytest.raises(PlanError, match="margin: must be a number > 0"):
        load_plan(path)
    bad = {**PLAN, "metrics": [{"name": "worst_dice", "summary": "median"}]}
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(PlanError, match=r"metrics\[0\].summary"):
        load_plan(path)
    path.write_text(yaml.safe_dump(PLAN))
    assert load_plan(path)["margin"] == 0.01


def test_the_committed_rerun_plan_reads():
    from pathlib import Path

    plan = load_plan(Path(__file__).resolve().parents[1] / "docs" / "plans" / "minority_rerun.yaml")
    assert plan["margin"] == 0.01 and set(plan["families"]) == {"against_the_counts", "against_the_matched_control"}
    counts = plan["families"]["against_the_counts"]
    n_tests = 2 * len(plan["metrics"]) * sum(len(c["inits"]) for c in counts["comparisons"])
    assert n_tests == counts["tests"] == 36
