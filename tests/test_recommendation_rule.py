"""The recommendation rule (sweeps/studies/recommendation.py) on hand-made per-seed metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from studies import recommendation as rec

from fair_seg_al.analysis.stats import holm

NOISE = np.array([0.001, -0.001, 0.002, -0.002, 0.0005, -0.0005])  # mean 0: never resolved


def _metrics(cheap_dip: np.ndarray, dear_dip: np.ndarray) -> pd.DataFrame:
    rows = []
    for init in ("balanced", "imbalanced"):
        for seed in range(6):
            base = 0.80 + 0.01 * seed
            for s, dip in (("best", 0.0), ("cheap", cheap_dip[seed]), ("dear", dear_dip[seed])):
                d = dip if init == "balanced" else 0.0
                noise = 0.0 if s == "best" else NOISE[seed]
                rows.append({"init": init, "strategy": s, "seed": seed, "worst_dice": base - d + noise,
                             "auc_worst_dice": base + noise})  # fmt: skip
    return pd.DataFrame(rows)


def test_a_small_unadjusted_difference_does_not_survive_holm_a_large_one_does():
    # "cheap" is behind "best" by 0.003-0.008 (+-0.002 noise) in one start x metric: resolved without
    # adjustment (t p ~ 0.01), not after Holm over the 8 comparisons with the best (x 7); "dear" (0.05) survives.
    small = np.array([0.004, 0.006, 0.003, 0.008, 0.005, 0.004])
    m = _metrics(cheap_dip=small, dear_dip=np.full(6, 0.05) + NOISE)
    chosen, table = rec.decide(m, ["cheap", "dear", "best"])
    row = table[(table["strategy"] == "cheap") & (table["init"] == "balanced") & (table["metric"] == "worst_dice")]
    assert not row["tied"].item()  # the first version excludes it
    dear = table[(table["strategy"] == "dear") & (table["init"] == "balanced") & (table["metric"] == "worst_dice")]
    assert not dear["tied_holm"].item()  # 0.05 in every seed survives the adjustment
    # Holm: p_(i) * (m - i + 1), monotone; the adjusted p is never below the raw one
    rival = table[table["strategy"] != table["best"]]
    assert (rival["p_holm"] >= rival["t_p"] - 1e-12).all()
    assert row["t_p"].item() < 0.05 < row["p_holm"].item() and row["tied_holm"].item()
    assert chosen == "cheap"  # the cheapest candidate Holm cannot tell from the best
    assert rec.first_passing(table, ["cheap", "dear", "best"], "tied") == "best"


def test_the_best_against_itself_is_no_test_and_not_in_the_holm_family():
    # 2 starts x 2 metrics x 3 candidates = 12 rows; 4 are the best minus itself (0 by construction)
    small = np.array([0.004, 0.006, 0.003, 0.008, 0.005, 0.004])
    m = _metrics(cheap_dip=small, dear_dip=np.full(6, 0.05) + NOISE)
    _, table = rec.decide(m, ["cheap", "dear", "best"])
    own = table["strategy"] == table["best"]
    assert own.sum() == 4 and table.loc[own, "tied_holm"].all() and table.loc[own, "p_holm"].isna().all()
    # the family is the other 8: Holm over their t p-values alone
    expected = holm(table.loc[~own, "t_p"].to_numpy())
    assert np.allclose(table.loc[~own, "p_holm"].to_numpy(), expected)


def _verdicts(seeds):
    rows = [
        ("stratified_random", "composition_control", "imbalanced", "final", "equivalent within +-0.01 (+0.001 [-0.002, +0.004], TOST Holm p=0.0003)"),
        ("stratified_random", "composition_control", "imbalanced", "auc", "resolved better (+0.008 [+0.005, +0.012])"),
        ("stratified_random", "candidate", "balanced", "auc", "inconclusive (+0.004 [-0.003, +0.011])"),
        ("composition_control", "oracle control", "imbalanced", "auc", "resolved worse (-0.006 [-0.010, -0.002])"),
    ]  # fmt: skip
    return pd.DataFrame(
        [{"reference": r, "strategy": s, "init": i, "metric": "worst_dice", "summary": m, "seeds": seeds, "verdict": v}
         for r, s, i, m, v in rows]
    )  # fmt: skip


def test_a_rerun_is_quoted_only_when_all_its_planned_seeds_are_in():
    interim = rec.rerun_sentence("in a cell", "cell_plan", "rerun_cell", _verdicts(20), planned=24, archived=21)
    assert interim == (
        "The rerun in a cell on the audited instrument ([plan](plans/cell_plan.md)) had 21 of its 24 planned seeds "
        "archived when this page was built; its verdicts are quoted here once all are in."
    )
    assert "resolved" not in interim and "equivalent" not in interim  # no interim verdict leaks
    assert "had 0 of its 24" in rec.rerun_sentence("in a cell", "cell_plan", "rerun_cell", None, 24, 0)
    done = rec.rerun_sentence("in a cell", "cell_plan", "rerun_cell", _verdicts(24), planned=24, archived=24)
    assert done == (
        "**Rerun in a cell on the audited instrument** (24 paired seeds; [plan](plans/cell_plan.md), "
        "[verdicts](replication/rerun_cell/verdicts.md)): against `stratified_random`, `composition_control`: "
        "final worst-group Dice (imbalanced) equivalent within +-0.01 (+0.001 [-0.002, +0.004], TOST Holm p=0.0003), "
        "worst-group Dice AUC (imbalanced) resolved better (+0.008 [+0.005, +0.012]); `candidate`: worst-group Dice "
        "AUC (balanced) inconclusive (+0.004 [-0.003, +0.011]). And against `composition_control`, `oracle control`: "
        "worst-group Dice AUC (imbalanced) resolved worse (-0.006 [-0.010, -0.002]). No rule is resolved better than "
        "its composition-matched control: this rerun leaves the recommendation standing."
    )
    # one comparison a seed short of the plan: still interim, nothing quoted
    short = _verdicts(24)
    short.loc[2, "seeds"] = 23
    assert "quoted here once all are in" in rec.rerun_sentence("in a cell", "p", "s", short, planned=24, archived=24)


def test_a_seed_needs_every_strategy_and_start_the_plan_names():
    from fair_seg_al.analysis.plans import load_plan

    plans = rec.REPO / "docs" / "plans"
    # minority: stratified_random, candidate, weighted_entropy, masked_entropy, oracle x 2 starts, and
    # composition_control from the imbalanced start only (its balanced runs would be stratified_random's)
    assert rec.planned_runs_per_seed(load_plan(plans / "minority_rerun.yaml")) == 5 * 2 + 1
    assert rec.planned_runs_per_seed(load_plan(plans / "anatomies_rerun.yaml")) == 6  # six rules, imbalanced only
    assert rec.planned_runs_per_seed(load_plan(plans / "weak_rerun.yaml")) == 2 * 2  # entropy, weighted_entropy


@pytest.mark.slow  # reads about 200 archived runs (about 20 s)
def test_complete_seeds_counts_the_committed_cells():
    from fair_seg_al.analysis.plans import load_plan

    runs = rec.REPO / "docs" / "replication" / "runs"
    plan = load_plan(rec.REPO / "docs" / "plans" / "minority_rerun.yaml")
    # the old minority cell ran the same rules (and more) from both starts: all 12 of its seeds are complete
    assert rec.complete_seeds(runs / "sweep_powered_minority", plan) == 12
    assert rec.complete_seeds(runs / "no_such_sweep", plan) == 0
    plan["cell"]["seeds"] = [0, 5]  # seeds outside the plan's range are not counted
    assert rec.complete_seeds(runs / "sweep_powered_minority", plan) == 6


def test_a_complete_rerun_answers_the_pages_criterion_for_change():
    # the made-up rerun: the candidate inconclusive against stratified_random from the balanced start (there the
    # matched control, as composition_control selects there as stratified_random does), the oracle control
    # resolved worse against composition_control: nothing changes
    done = rec.rerun_sentence("in a cell", "p", "s", _verdicts(24), planned=24, archived=24)
    assert done.endswith(
        " No rule is resolved better than its composition-matched control: this rerun leaves the recommendation standing."
    )
    # an oracle control resolved better does not count, named by the plan's label or by the runs' own label
    oracle_better = _verdicts(24)
    oracle_better.loc[3, "verdict"] = "resolved better (+0.003 [+0.001, +0.004], within +-0.01)"
    standing = (
        " No rule is resolved better than its composition-matched control (only the oracle control is, and it reads"
    )
    assert rec.matched_control_sentence(oracle_better, {"oracle control"}).startswith(standing)
    by_run_label = oracle_better.assign(
        strategy=oracle_better["strategy"].replace("oracle control", "owe (oracle control)")
    )
    assert rec.matched_control_sentence(by_run_label).startswith(standing)
    # without the plan's word for it, a label alone is a rule like any other
    assert "`oracle control`; the recommendation is to be revisited" in rec.matched_control_sentence(oracle_better)
    # a usable rule resolved better than its matched control is named, and the page says it is to be revisited
    rule_better = pd.concat([oracle_better, oracle_better.iloc[[3]].assign(strategy="candidate")], ignore_index=True)
    assert rec.matched_control_sentence(rule_better, {"oracle control"}) == (
        " Resolved better than its composition-matched control: `candidate`; the recommendation is to be revisited."
    )
    # from the balanced start stratified_random is the matched control; from the imbalanced start it is not
    balanced_gain = _verdicts(24)
    balanced_gain.loc[2, "verdict"] = (
        "resolved better (+0.012 [+0.006, +0.018])"  # candidate, balanced, vs stratified_random
    )
    assert "`candidate`; the recommendation is to be revisited" in rec.matched_control_sentence(balanced_gain)
    imbalanced_gain = _verdicts(24).iloc[[1]]  # composition_control resolved better than stratified_random, imbalanced
    assert rec.matched_control_sentence(imbalanced_gain).startswith(" This rerun compares no rule with its composition")


def test_a_plans_oracle_controls_are_named_by_its_labels(monkeypatch):
    plan = {
        "families": {
            "f": {"comparisons": [{"strategy": "owe", "label": "oracle control"}, {"strategy": "cand"}]},
            "g": {"comparisons": [{"strategy": "owe"}, {"strategy": "cand", "label": "candidate"}]},
        }
    }
    monkeypatch.setattr(rec, "preset_reads_test_set", lambda name: name == "owe")
    assert rec.oracle_names(plan) == {"oracle control", "owe"}


@pytest.mark.slow  # a Hydra compose per preset (about 2 s each)
def test_the_minority_reruns_oracle_controls_are_its_rules_that_read_the_test_set():
    from fair_seg_al.analysis.plans import load_plan, preset_reads_test_set

    assert preset_reads_test_set("oracle_weighted_entropy") and not preset_reads_test_set("weighted_entropy")
    assert not preset_reads_test_set("no_such_preset")
    plan = load_plan(Path(__file__).resolve().parents[1] / "docs" / "plans" / "minority_rerun.yaml")
    assert rec.oracle_names(plan) == {"oracle control (reads the test set)", "oracle control"}


def test_the_instrument_note_names_the_cells_still_waiting_for_their_rerun():
    waiting_all = rec.instrument_note([])
    assert "has been rerun" not in waiting_all
    assert "the cells with one group a fifth of the pool, on six real brains and under weak bias" in waiting_all
    assert waiting_all.endswith("until their rerun (issue 33).")
    one = rec.instrument_note([("with one group a fifth of the pool", "its decisive rules, both starts")])
    assert (
        "The cell with one group a fifth of the pool has been rerun on the audited instrument (its decisive rules, "
        "both starts; quoted below)." in one
    )
    assert "The old runs of the cells on six real brains and under weak bias, quoted beside the rule" in one
    two = rec.instrument_note([(w, s) for w, _, _, s in rec.RERUNS[:2]])
    assert "The old runs of the cell under weak bias," in two and two.endswith("until its rerun (issue 33).")
    every = rec.instrument_note([(w, s) for w, _, _, s in rec.RERUNS])
    assert every.count("has been rerun") == 3 and "conditional" not in every
    # the weak rerun covers claim (a) only, and the note says so
    assert "claim (a) only; the candidate's check against `composition_control` stays on the old instrument" in every
