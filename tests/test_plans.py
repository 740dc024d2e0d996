"""Study plans as data (issue 33): the engine's verdicts on hand-built runs, and bad plans named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from fair_seg_al.analysis.plans import PlanError, load_plan, markdown, planned_seeds, verdict_table
from fair_seg_al.analysis.stats import holm, tost

REPO = Path(__file__).resolve().parents[1]
VERDICT_WORDS = {"resolved better", "resolved worse", "inconclusive"} | {"equivalent within +-0.01"}
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


def test_a_descriptive_comparison_gets_a_difference_test_alone_in_the_family():
    # group B's acquired share has no better side: "resolved higher", no margin, no TOST; its t-test
    # joins the family's Holm adjustment (1 + 1 differences and 1 TOST: 3 tests, by hand below)
    metrics = runs()
    metrics["acquired_share"] = np.where(metrics["strategy"] == "up", 0.5, 0.2) + 0.01 * np.sin(metrics["seed"])
    metrics.loc[metrics["strategy"] == "up", "acquired_share"] += 0.002 * np.arange(10)
    plan = {**PLAN, "families": {"main": {"reference": "base", "comparisons": [
        {"strategy": "up", "inits": ["imbalanced"]},
        {"strategy": "up", "inits": ["imbalanced"], "better": "descriptive", "metrics": [{"name": "acquired_share"}]},
    ]}}}  # fmt: skip
    table = verdict_table(metrics, plan)
    dice, share = table.iloc[0], table.iloc[1]
    assert share["verdict"].startswith("resolved higher (+0.309 [")  # 0.3 + 0.002 * mean(0..9)
    assert np.isnan(share["margin"]) and np.isnan(share["tost_p"]) and np.isnan(share["tost_p_holm"])
    wide = metrics.pivot(index="seed", columns="strategy", values=["worst_dice", "acquired_share"])
    from scipy import stats

    d_dice = (wide["worst_dice"]["up"] - wide["worst_dice"]["base"]).to_numpy()
    d_share = (wide["acquired_share"]["up"] - wide["acquired_share"]["base"]).to_numpy()
    adjusted = holm([stats.ttest_1samp(d_dice, 0).pvalue, stats.ttest_1samp(d_share, 0).pvalue, tost(d_dice, 0.01)])
    assert [dice["p_holm"], share["p_holm"], dice["tost_p_holm"]] == pytest.approx(adjusted)
    text = markdown(table, plan, "c")
    assert "## main (3 tests)" in text and "a descriptive comparison, with no better side" in text


def share_runs() -> tuple[pd.DataFrame, dict]:
    """runs() with group B's acquired share (up: +0.3 + 0.002 * seed over base), and a plan whose
    first comparison is the descriptive one."""
    metrics = runs()
    metrics["acquired_share"] = np.where(metrics["strategy"] == "up", 0.5, 0.2) + 0.002 * np.where(
        metrics["strategy"] == "up", metrics["seed"], 0
    )
    plan = {**PLAN, "families": {"main": {"reference": "base", "comparisons": [
        {"strategy": "base", "reference": "up", "inits": ["imbalanced"], "better": "descriptive",
         "metrics": [{"name": "acquired_share"}]},
        {"strategy": "up", "inits": ["imbalanced"]},
    ]}}}  # fmt: skip
    return metrics, plan


def test_a_descriptive_comparison_first_keeps_the_tables_columns_and_reads_without_equivalence():
    metrics, plan = share_runs()
    table = verdict_table(metrics, plan)
    # the committed verdicts.csv header, whatever the first row holds
    header = "family,strategy,reference,init,metric,summary,seeds,better,margin,mean,sd,ci_low,ci_high,t_p,"
    header += "tost_p,p_holm,tost_p_holm,verdict"
    assert ",".join(table.columns) == header
    assert table["verdict"].iloc[0].startswith("resolved lower (-0.309 [")  # base minus up
    # without equivalence: the same words for the share, no margin anywhere, no TOST columns
    plain = verdict_table(metrics, {**plan, "equivalence": False})
    assert plain["verdict"].iloc[0].startswith("resolved lower (-0.309 [") and "tost_p" not in plain
    assert plain["verdict"].iloc[1].startswith("resolved better") and plain["margin"].isna().iloc[0]


def test_descriptive_rows_get_their_own_panel_so_the_margins_stay_visible(tmp_path, monkeypatch):
    from fair_seg_al.analysis import plans

    drawn = []
    monkeypatch.setattr(plans, "save_png", lambda fig, path, crop=False: drawn.append(fig))
    metrics, plan = share_runs()
    plans.forest(verdict_table(metrics, plan), tmp_path / "f.png")
    graded, descriptive = drawn[0].axes
    low, high = graded.get_xlim()
    assert high - low < 0.1  # the Dice-scale row and its +-0.01 margin (up: +0.03)
    assert descriptive.get_xlim()[0] < -0.3  # the share difference, -0.309 and its interval
    assert len(graded.get_yticks()) == 1 and len(descriptive.get_yticks()) == 1


def test_a_margin_on_a_descriptive_comparison_is_refused(tmp_path):
    _, plan = share_runs()
    plan["families"]["main"]["comparisons"][0]["metrics"] = [{"name": "acquired_share", "margin": 0.05}]
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    with pytest.raises(PlanError, match=r"comparisons\[0\]\.metrics: a descriptive comparison has no margin"):
        load_plan(path)


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "docs" / "plans").glob("*.yaml")))
def test_every_committed_plan_reads(name):
    plan = load_plan(REPO / "docs" / "plans" / name)
    assert plan["families"] and plan["metrics"]


def test_a_bad_comparison_direction_is_refused_naming_the_key(tmp_path):
    plan = {**PLAN, "families": {"main": {"reference": "base", "comparisons": [
        {"strategy": "up", "better": "sideways"}]}}}  # fmt: skip
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    with pytest.raises(
        PlanError, match=r"families\.main\.comparisons\[0\]\.better: must be higher, lower or descriptive"
    ):
        load_plan(path)


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


def test_a_plans_seeds_are_first_to_last_inclusive_and_a_bad_range_is_named(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump({**PLAN, "cell": {"seeds": [3, 7]}}))
    assert list(planned_seeds(load_plan(path))) == [3, 4, 5, 6, 7]
    for bad in ([7, 3], [0, 2.5], [5], "0-35"):
        path.write_text(yaml.safe_dump({**PLAN, "cell": {"seeds": bad}}))
        with pytest.raises(PlanError, match=r"cell.seeds: must be \[first, last\]"):
            load_plan(path)
    path.write_text(yaml.safe_dump({**PLAN, "cell": ["seeds", 0, 35]}))
    with pytest.raises(PlanError, match="cell: must be a mapping"):
        load_plan(path)


def test_the_committed_rerun_plan_reads():
    from pathlib import Path

    plan = load_plan(Path(__file__).resolve().parents[1] / "docs" / "plans" / "minority_rerun.yaml")
    assert plan["margin"] == 0.01 and set(plan["families"]) == {"against_the_counts", "against_the_matched_control"}
    counts = plan["families"]["against_the_counts"]
    n_tests = 2 * len(plan["metrics"]) * sum(len(c["inits"]) for c in counts["comparisons"])
    assert n_tests == counts["tests"] == 36


def test_a_metric_may_declare_its_own_margin():
    # "same" sits within 0.001 of the base: equivalent within +-0.01, yet not within +-0.0001
    metrics = runs()
    metrics["worst_nsd"] = metrics["worst_dice"]
    plan = {**PLAN, "metrics": [{"name": "worst_dice"}, {"name": "worst_nsd", "margin": 0.0001}]}
    table = verdict_table(metrics, plan)
    same = table[table["strategy"] == "same"].set_index("metric")
    assert same.loc["worst_dice", "margin"] == 0.01 and same.loc["worst_nsd", "margin"] == 0.0001
    assert same.loc["worst_dice", "verdict"].startswith("equivalent within +-0.01")
    assert same.loc["worst_nsd", "verdict"].startswith("inconclusive")
    wide = metrics.pivot(index="seed", columns="strategy", values="worst_nsd")
    assert same.loc["worst_nsd", "tost_p"] == pytest.approx(tost((wide["same"] - wide["base"]).to_numpy(), 0.0001))


def test_a_rule_identical_to_its_reference_is_reported_and_left_out_of_holm():
    # "clone" selects as the base does (as composition_control does stratified_random's from a
    # balanced start): its differences are all 0, so it is no test and the family holds 2, not 4
    metrics = runs()
    clone = metrics[metrics["strategy"] == "base"].assign(strategy="clone")
    metrics = pd.concat([metrics, clone])
    plan = {**PLAN, "families": {"main": {"reference": "base", "comparisons": [
        {"strategy": "up", "inits": ["imbalanced"]}, {"strategy": "clone", "inits": ["imbalanced"]},
    ]}}}  # fmt: skip
    table = verdict_table(metrics, plan).set_index("strategy")
    assert table.loc["clone", "verdict"] == "identical in all 10 seeds (by construction; not tested)"
    wide = metrics.pivot(index="seed", columns="strategy", values="worst_dice")
    d = (wide["up"] - wide["base"]).to_numpy()
    from scipy import stats

    expected = holm([stats.ttest_1samp(d, 0).pvalue, tost(d, 0.01)])
    assert table.loc["up", "p_holm"] == pytest.approx(expected[0])
    assert "## main (2 tests)" in markdown(verdict_table(metrics, plan), plan, "cmd")


def test_a_bad_metric_margin_is_refused_naming_the_key(tmp_path):
    path = tmp_path / "plan.yaml"
    bad = {**PLAN, "metrics": [{"name": "worst_dice", "margin": 0}]}
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(PlanError, match=r"metrics\[0\].margin: must be a number > 0"):
        load_plan(path)


@pytest.mark.parametrize("cell", ["minority", "anatomies", "weak"])
def test_each_rerun_plan_has_the_seeds_its_planner_table_asks_for(cell):
    # the plan's seed range covers the largest need in the committed planner table of the cell's
    # family (the table's own numbers are the planner's, tested in test_planner.py)
    import re
    from pathlib import Path

    docs = Path(__file__).resolve().parents[1] / "docs"
    plan = load_plan(docs / "plans" / f"{cell}_rerun.yaml")
    table = (docs / "planning" / f"{cell}_rerun.md").read_text()
    first, last = plan["cell"]["seeds"]
    needs = [int(n) for n in re.findall(r"\| (\d+) \| (\d+) \|$", table, re.M) for n in n]
    family = next(iter(plan["families"].values()))
    n_tests = 2 * sum(len(c["inits"]) * len(c.get("metrics", plan["metrics"])) for c in family["comparisons"])
    assert n_tests == family["tests"]
    assert f"a Holm family of {n_tests}." in table
    equivalence = [int(m) for m in re.findall(r"\| \d+ \| (\d+) \|$", table, re.M)]
    assert last - first + 1 >= max(equivalence)  # every comparison's equivalence at the margin is powered
    if cell != "minority":  # the minority plan resolves 0.005 only where the pilot SD is <= 0.0068 (its .md)
        assert last - first + 1 >= max(needs)


def test_the_weak_rerun_margins_sit_just_above_one_test_sets_noise():
    # docs/plans/weak_rerun.md: a disparity's test-set SE at 90 labels, median over the old weak
    # cell's 48 entropy and Weighted Entropy runs, about 0.003 (Dice) and 0.0009 (NSD); the
    # margins (0.01, 0.002) exceed the 95 % half-widths (about 0.006, 0.0018)
    from pathlib import Path

    runs = Path(__file__).resolve().parents[1] / "docs" / "replication" / "runs" / "sweep_powered_weak"
    folders = sorted(runs.glob("entropy-*")) + sorted(runs.glob("weighted_entropy-*"))
    assert len(folders) == 48
    dice, nsd = [], []
    for folder in folders:
        t = pd.read_csv(folder / "test_dice.csv.gz")
        t = t[t["round"] == t["round"].max()]
        se = t.groupby("group")[["dice", "nsd"]].agg(lambda x: x.std(ddof=1) / np.sqrt(len(x)))
        dice.append(np.hypot(*se["dice"]))
        nsd.append(np.hypot(*se["nsd"]))
    assert np.median(dice) == pytest.approx(0.003, abs=0.0002)
    assert np.median(nsd) == pytest.approx(0.0009, abs=0.00005)
    plan = load_plan(Path(__file__).resolve().parents[1] / "docs" / "plans" / "weak_rerun.yaml")
    margins = {m["name"]: m["margin"] for m in plan["metrics"]}
    assert margins["disparity"] > 1.96 * np.median(dice) and margins["nsd_disparity"] > 1.96 * np.median(nsd)


def test_the_engine_reads_archived_runs_and_writes_its_three_files(tmp_path, monkeypatch):
    # the weak rerun's plan applied to the old weak cell's archived runs: each mean is the seeds'
    # mean of the final-round disparity difference, read here straight from rounds.csv
    import shutil
    from pathlib import Path

    from fair_seg_al.analysis.plans import main

    repo = Path(__file__).resolve().parents[1]
    runs = tmp_path / "runs"  # the plan's two rules, seeds 0-3 (copies): 16 of the cell's 156 runs to read
    runs.mkdir()
    for folder in (repo / "docs" / "replication" / "runs" / "sweep_powered_weak").iterdir():
        seed = folder.name.split("-seed")[-1].split("-")[0]
        if folder.name.startswith(("entropy-", "weighted_entropy-")) and seed in {"0", "1", "2", "3"}:
            shutil.copytree(folder, runs / folder.name)
    monkeypatch.chdir(tmp_path)  # the default --out: verdicts/<plan name> here, never inside the runs' folder
    assert main([str(repo / "docs" / "plans" / "weak_rerun.yaml"), "--runs", str(runs)]) == 0
    out = tmp_path / "verdicts" / "weak_rerun"
    assert not (runs / "verdicts").exists()
    table = pd.read_csv(out / "verdicts.csv")
    assert {p.name for p in out.iterdir()} == {"verdicts.csv", "verdicts.md", "verdicts.png"}
    final = {}
    for folder in runs.iterdir():
        rule, _, init, seed = folder.name.split("-")[:4]
        final[(rule, init, seed)] = pd.read_csv(folder / "rounds.csv")["disparity"].iloc[-1]
    for init in ("balanced", "imbalanced"):
        diffs = [final[("weighted_entropy", init, s)] - final[("entropy", init, s)] for (r, i, s) in final
                 if r == "entropy" and i == init]  # fmt: skip
        row = table[(table["init"] == init) & (table["metric"] == "disparity")].iloc[0]
        assert row["seeds"] == len(diffs) == 4
        assert row["mean"] == pytest.approx(np.mean(diffs), abs=1e-6)
        assert row["margin"] == 0.01 and row["verdict"].split(" (")[0] in VERDICT_WORDS
    assert set(table.loc[table["metric"] == "nsd_disparity", "margin"]) == {0.002}


def test_a_metric_at_a_labelled_set_size_is_tested_like_the_others(tmp_path):
    # the composition_control question "an early-budget effect?": worst Dice at 20 labels, a
    # column of its own (comparisons.run_metrics(..., at=(20,))), named in the table as "at 20"
    from fair_seg_al.analysis.plans import plan_budgets

    metrics = runs().rename(columns={"worst_dice": "worst_dice_at_20"})
    plan = {**PLAN, "metrics": [{"name": "worst_dice", "at": 20}]}
    table = verdict_table(metrics, plan).set_index("strategy")
    assert table.loc["up", "summary"] == "at 20" and table.loc["up", "verdict"].startswith("resolved better")
    assert "| up | base | imbalanced | worst_dice (at 20) | 10 |" in markdown(verdict_table(metrics, plan), plan, "c")
    with_own = {**plan, "families": {"main": {"reference": "base", "comparisons": [
        {"strategy": "up", "inits": ["imbalanced"], "metrics": [{"name": "worst_dice", "at": 30}]}]}}}  # fmt: skip
    assert plan_budgets(with_own) == [20, 30]
    with pytest.raises(PlanError, match="worst_dice \\(at 30\\): the runs' metrics have no worst_dice_at_30"):
        verdict_table(metrics, with_own)
    path = tmp_path / "plan.yaml"
    for bad, key in (
        ({"name": "worst_dice", "at": 0}, r"metrics\[0\].at"),
        ({"name": "worst_dice", "at": "20"}, r"metrics\[0\].at"),
        ({"name": "worst_dice", "at": 20, "summary": "auc"}, r"metrics\[0\]: give"),
    ):
        path.write_text(yaml.safe_dump({**PLAN, "metrics": [bad]}))
        with pytest.raises(PlanError, match=key):
            load_plan(path)


def test_a_plan_with_post_hoc_parts_is_titled_and_labelled_post_hoc(tmp_path):
    metrics = runs()
    assert markdown(verdict_table(metrics, PLAN), PLAN, "c").startswith("# Planned verdicts\n")
    late = {**PLAN, "post_hoc": ["the margin", "the TOSTs"]}
    text = markdown(verdict_table(metrics, late), late, "c")
    assert text.startswith("# Post hoc verdicts\n")
    assert "**Chosen after the results were known (post hoc): the margin; the TOSTs.**" in text
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump({**PLAN, "post_hoc": "the margin"}))
    with pytest.raises(PlanError, match="post_hoc: must list"):
        load_plan(path)


def test_a_familys_declared_test_count_is_checked_against_what_ran(tmp_path):
    # "main" runs 3 comparisons ("absent" has no runs): 6 tests
    metrics = runs()
    for declared, heading in ((6, "## main (6 tests)\n"), (8, "## main (6 tests; the plan declared 8)\n")):
        plan = {**PLAN, "families": {"main": {**PLAN["families"]["main"], "tests": declared}}}
        assert heading in markdown(verdict_table(metrics, plan), plan, "c")
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump({**PLAN, "families": {"main": {**PLAN["families"]["main"], "tests": "36"}}}))
    with pytest.raises(PlanError, match="families.main.tests: must be a whole number"):
        load_plan(path)


@pytest.mark.parametrize("cell", ["minority", "anatomies"])
def test_each_familys_planner_numbers_in_the_plan_are_its_planner_tables_maxima(cell):
    # the plan's `planner:` block quotes, per family, the most seeds any comparison needs; the
    # committed planner tables (docs/planning/, the second family after its heading) hold them
    import re
    from pathlib import Path

    docs = Path(__file__).resolve().parents[1] / "docs"
    plan = load_plan(docs / "plans" / f"{cell}_rerun.yaml")
    counts, matched = (docs / "planning" / f"{cell}_rerun.md").read_text().split("## The second family")
    for family, text in (("against_the_counts", counts), ("against_the_matched_control", matched)):
        rows = [
            (float(sd), int(r), int(e)) for sd, r, e in re.findall(r"\| ([\d.]+) \| (\d+) \| (\d+) \|$", text, re.M)
        ]
        quoted = plan["planner"][family]
        assert quoted["equivalence_max"] == max(e for *_, e in rows)
        if "resolve_max" in quoted:
            assert quoted["resolve_max"] == max(r for _, r, _ in rows)
        else:  # the minority plan: its 36 seeds resolve 0.005 where the pilot SD is at most 0.0068
            from fair_seg_al.analysis.planner import seeds_to_resolve

            assert quoted["resolve_max_where_sd_le_0.0068"] == 36 == seeds_to_resolve(0.0068, 0.005, 36)
            assert max(r for sd, r, _ in rows if sd <= 0.0068) <= 36 < seeds_to_resolve(0.0069, 0.005, 36)


def test_the_guides_example_plan_reads_and_its_test_count_is_right(tmp_path):
    # docs/guide.md's plan for a user's own sweep is a valid plan, and its declared count holds
    import re
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[1] / "docs" / "guide.md").read_text()
    example = re.search(r"```yaml\n# my_plan.yaml\n(.*?)```", guide, re.S).group(1)
    path = tmp_path / "my_plan.yaml"
    path.write_text(example)
    plan = load_plan(path)
    family = plan["families"]["main"]
    starts = sum(len(c["inits"]) for c in family["comparisons"])
    assert family["tests"] == 2 * starts * len(plan["metrics"]) == 18


@pytest.mark.slow  # reads 24 archived runs and composes the presets' labels
def test_the_budget_plan_gives_the_old_cells_early_lead_as_results_md_quotes_it(tmp_path):
    # the minority rerun's secondary plan (worst-group Dice at 20, 30 and 90 labels) applied to the
    # OLD cell's archived runs (copies of the two rules' imbalanced runs): its means and intervals
    # are the ones docs/results.md quotes from a direct computation (tested in test_docs_numbers.py)
    import shutil
    from pathlib import Path

    from fair_seg_al.analysis.plans import plan_budgets, run_metrics_of

    repo = Path(__file__).resolve().parents[1]
    plan = load_plan(repo / "docs" / "plans" / "minority_rerun_budget.yaml")
    assert plan_budgets(plan) == [20, 30, 90] and plan["post_hoc"]
    runs = tmp_path / "runs"
    for folder in (repo / "docs" / "replication" / "runs" / "sweep_powered_minority").iterdir():
        if folder.name.startswith(("composition_control-strong-imbalanced", "stratified_random-strong-imbalanced")):
            shutil.copytree(folder, runs / folder.name, ignore=shutil.ignore_patterns("*.gz", "*.pt", "*.ckpt"))
    table = verdict_table(run_metrics_of([runs], [plan]), plan).set_index("summary")
    assert list(table.index) == ["at 20", "at 30", "at 90"] and (table["seeds"] == 12).all()
    results = " ".join((repo / "docs" / "results.md").read_text().split())
    fmt = {s: f"{r['mean']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]" for s, r in table.iterrows()}
    assert (
        f"{fmt['at 20']} at 20 labels, {fmt['at 30']} at 30 and {fmt['at 90']}, unresolved, at the final 90" in results
    )


def test_a_mistyped_key_in_a_metric_or_comparison_and_a_metric_asked_twice_are_refused(tmp_path):
    # a mistyped "at" must not quietly test the final round, nor a repeat count twice in Holm
    path = tmp_path / "plan.yaml"
    main = PLAN["families"]["main"]
    cases = [
        ({**PLAN, "metrics": [{"name": "worst_dice", "summery": "auc"}]}, r"metrics\[0\].summery: unknown key"),
        ({**PLAN, "metrics": [{"name": "worst_dice", "At": 20}]}, r"metrics\[0\].At: unknown key"),
        ({**PLAN, "metrics": [{"name": "worst_dice"}, {"name": "worst_dice", "summary": "final"}]},
         "metrics: asks worst_dice more than once"),
        ({**PLAN, "families": {"main": {**main, "comparisons": [{"strategy": "up", "refrence": "same"}]}}},
         r"families.main.comparisons\[0\].refrence: unknown key"),
        ({**PLAN, "families": {"main": {**main, "comparisons": [{"strategy": "up", "better": "up"}]}}},
         r"families.main.comparisons\[0\].better"),
    ]  # fmt: skip
    for plan, message in cases:
        path.write_text(yaml.safe_dump(plan))
        with pytest.raises(PlanError, match=message):
            load_plan(path)


def test_a_labelled_set_size_no_run_reached_is_named():
    metrics = runs().assign(worst_dice_at_25=np.nan)
    with pytest.raises(PlanError, match="worst_dice \\(at 25\\): no run had 25 labelled images"):
        verdict_table(metrics, {**PLAN, "metrics": [{"name": "worst_dice", "at": 25}]})


def test_without_equivalence_a_family_holds_the_difference_tests_alone(tmp_path):
    # the cells planned before margins: three words, Holm over the t-tests only, no margin needed
    from scipy import stats

    plan = {k: v for k, v in PLAN.items() if k != "margin"} | {"equivalence": False}
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    assert load_plan(path)["equivalence"] is False
    metrics = runs()
    table = verdict_table(metrics, plan).set_index("strategy")
    wide = metrics.pivot(index="seed", columns="strategy", values="worst_dice")
    t_p = [stats.ttest_1samp((wide[s] - wide["base"]).to_numpy(), 0).pvalue for s in ("up", "same", "noisy")]
    for s, q in zip(("up", "same", "noisy"), holm(t_p), strict=True):
        assert table.loc[s, "p_holm"] == pytest.approx(q)
    assert table.loc["up", "verdict"].startswith("resolved better (+0.0")
    assert table.loc["same", "verdict"].startswith("unresolved (") and "equivalent" not in table.loc["same", "verdict"]
    assert "tost_p" not in table
    assert "## main (3 tests)" in markdown(verdict_table(metrics, plan), plan, "c")
    path.write_text(yaml.safe_dump({**plan, "equivalence": "no"}))
    with pytest.raises(PlanError, match="equivalence: must be true or false"):
        load_plan(path)


@pytest.mark.slow  # reads the weak cell's 156 archived runs
def test_the_weak_cells_post_hoc_plan_less_its_tosts_gives_the_committed_planned_verdicts():
    # the engine reads the old study: post_hoc_weak.yaml with the equivalence tests taken out is the
    # cell's planned families (12 tests per start), and gives each test the words, interval and Holm p
    # that sweeps/studies/replication.py committed in its verdicts.md (written by other code)
    import re
    from pathlib import Path

    from fair_seg_al.analysis.plans import run_metrics_of

    docs = Path(__file__).resolve().parents[1] / "docs"
    plan = load_plan(docs / "plans" / "post_hoc_weak.yaml") | {"equivalence": False, "post_hoc": []}
    table = verdict_table(run_metrics_of([docs / "replication" / "runs" / "sweep_powered_weak"]), plan)
    committed = (docs / "replication" / "sweep_powered_weak" / "verdicts.md").read_text()
    names = {"disparity": "Dice disparity", "nsd_disparity": "NSD disparity"}
    for init in ("balanced", "imbalanced"):
        block = committed.split(f"init={init}")[1].split("### ")[0]
        planned = block.split("- **Exploratory")[0]
        rows = table[table["init"] == init]
        assert len(rows) == 12  # the plan declares 24: its TOSTs, taken out here
        assert f"## {init} (12 tests; the plan declared 24)" in markdown(table, plan, "c")
        for r in rows.itertuples():
            if r.reference == "entropy":  # claim (a)
                expected = f"{names[r.metric]} {r.verdict}, 12 seeds"
            else:
                label = "masked_entropy.stratified_power" if r.strategy == "candidate" else r.strategy
                column = r.metric if r.summary == "final" else f"auc_{r.metric}"
                expected = f"`{label}` {column} {r.verdict}, 12 seeds"
            assert expected in planned, (init, expected)
        assert len(re.findall(r"Holm p=", planned)) == 12


# a committed cell: its plan (the post hoc ones less their TOSTs), its runs, its planned verdicts, each
# start's section there (where it begins, its init, its tests), where the planned tests end (None: at
# the section's end)
PLANNED_CELLS = {
    "strong": ("post_hoc_strong", "replication/runs/sweep_powered", "replication/sweep_powered/verdicts.md",
               [("init=balanced", "balanced", 16), ("init=imbalanced", "imbalanced", 16)], None),
    "minority": ("minority_cell", "replication/runs/sweep_powered_minority",
                 "replication/sweep_powered_minority/verdicts.md",
                 [("init=balanced", "balanced", 32), ("init=imbalanced", "imbalanced", 36)], "- **4. B images"),
    "six brains": ("post_hoc_anatomies", "replication/runs/sweep_anatomies_minority",
                   "replication/sweep_anatomies_minority/verdicts.md", [("init=imbalanced", "imbalanced", 20)],
                   "- **Does the answer hold"),
    "uncertainty": ("post_hoc_uncertainty", "uncertainty/runs/uncertainty_matched", "uncertainty/matched/verdicts.md",
                    [("Planned family", "imbalanced", 8)], "Group B's share"),
}  # fmt: skip


@pytest.mark.slow  # reads 60 to 216 archived runs per cell
@pytest.mark.parametrize("cell", sorted(PLANNED_CELLS))
def test_a_cells_plan_gives_its_committed_planned_tests(cell):
    # each post hoc plan without its TOSTs is its cell's planned family (the strong cell's claim (c)
    # share tests as descriptive comparisons; minority_cell.yaml is the first minority cell's, as
    # planned): every test's words, interval and Holm p are the ones that other code
    # (sweeps/studies/*.py) committed in the cell's verdicts.md, as a multiset
    import re
    from pathlib import Path

    from fair_seg_al.analysis.plans import run_metrics_of

    plan_name, runs_dir, verdicts_md, starts, end = PLANNED_CELLS[cell]
    docs = Path(__file__).resolve().parents[1] / "docs"
    plan = load_plan(docs / "plans" / f"{plan_name}.yaml") | {"equivalence": False, "post_hoc": []}
    table = verdict_table(run_metrics_of([docs / runs_dir]), plan)
    committed = (docs / verdicts_md).read_text()
    holm_tested = re.compile(r"((?:resolved \w+|unresolved) \([^()]*Holm p=[^()]*\))")
    for heading, init, tests in starts:
        section = committed.split(heading)[1].split("### bias=")[0]
        planned = section.split(end)[0] if end else section  # exploratory lines carry no Holm p
        rows = table[table["init"] == init]
        tested = rows[rows["t_p"].notna()]
        assert len(tested) == tests and (rows["seeds"] == 12).all()
        assert sorted(holm_tested.findall(planned)) == sorted(tested["verdict"]), heading
        # the rest are the comparisons identical by construction that the old code left out too
        left_out = rows[rows["t_p"].isna()]
        assert all(v.startswith("identical in all 12 seeds") for v in left_out["verdict"])
        assert planned.count("identical in all 12 seeds (by construction; left out of the family)") == len(left_out)
    if cell == "strong":
        share = table[table["metric"] == "acquired_share"]
        assert len(share) == 4 and all(v.startswith(("resolved higher", "resolved lower")) for v in share["verdict"])
        assert "## balanced (16 tests; the plan declared 30)" in markdown(table, plan, "c")


@pytest.mark.parametrize("name", ["minority_rerun", "minority_rerun_budget", "anatomies_rerun", "weak_rerun"])
def test_a_rerun_plans_declared_test_counts_are_what_its_runs_will_give(name):
    # before the runs are in: runs made up for every rule, start and planned seed the plan names,
    # labelled as their presets label runs; each family must run the tests it declares, or the plan
    # would be judged on another family size than the one its seeds were planned for
    from fair_seg_al.analysis.plans import _metric_entries, metric_column, preset_label

    plan = load_plan(REPO / "docs" / "plans" / f"{name}.yaml")
    rules = {
        c[k] for f in plan["families"].values() for c in f["comparisons"] for k in ("strategy", "reference") if k in c
    }
    rules |= {f.get("reference", plan.get("baseline")) for f in plan["families"].values()}
    inits = {i for f in plan["families"].values() for c in f["comparisons"] for i in c["inits"]}
    columns = {metric_column(m)[0] for m in _metric_entries(plan)}
    rng = np.random.default_rng(0)
    metrics = pd.DataFrame(
        [
            {"strategy": preset_label(r), "init": i, "seed": s} | {c: rng.uniform(0.7, 0.9) for c in columns}
            for r in sorted(rules)
            for i in sorted(inits)
            for s in planned_seeds(plan)
        ]
    )
    table = verdict_table(metrics, plan)
    assert (table["seeds"] == len(planned_seeds(plan))).all()  # every comparison found its runs
    for family, t in table.groupby("family"):
        ran = int(t["t_p"].notna().sum() + t["tost_p"].notna().sum())
        assert ran == plan["families"][family]["tests"], family
