"""The powered replication's verdict rules (sweeps/studies/replication.py) on hand-made per-seed metrics."""

from __future__ import annotations

import pandas as pd
import pytest
from studies import replication as rr


def metrics(per_strategy: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    rows = []
    for strategy, cols in per_strategy.items():
        for seed in range(len(next(iter(cols.values())))):
            rows.append({"strategy": strategy, "seed": seed, **{k: v[seed] for k, v in cols.items()}})
    return pd.DataFrame(rows)


def const(n_seeds=4, **values):
    return {k: [v] * n_seeds for k, v in values.items()}


def jitter(scale=1.0, **values):
    """Four seeds of each value plus a mean-0 wobble (acquired_share kept constant): against a
    constant reference, a difference of mean 0 that is still a test (t = 0, p = 1), not identical."""
    wobble = [0.001, -0.001, 0.002, -0.002]
    return {k: [v] * 4 if k == "acquired_share" else [v + scale * e for e in wobble] for k, v in values.items()}


BASE = dict(disparity=0.2, es_dice=0.7, acquired_share=0.5, worst_dice=0.7, auc_worst_dice=0.6)


def test_each_claim_by_hand():
    m = metrics(
        {
            "entropy": const(**BASE | dict(acquired_share=0.3)),
            "masked_entropy": const(**BASE),
            "random": const(**BASE),
            "stratified_random": const(**BASE),
            "composition_control": const(**BASE | dict(es_dice=0.9)),  # a control: never a rival in (b)
            # halves entropy's disparity in every seed; best ES-Dice; worst group +0.05 over stratified
            "weighted_entropy": const(**BASE | dict(disparity=0.1, es_dice=0.8, worst_dice=0.75)),
        }
    )
    text = "\n".join(rr.verdicts(m, "strong", "imbalanced"))
    assert "reduction +50 % [+50, +50]" in text and "The paper's 75 % is outside this interval" in text
    assert "(b) Weighted Entropy has the highest ES-Dice:** holds" in text
    assert "composition_control" not in text.split("(b)")[1].split("\n")[0]
    # masked's B share is resolved above entropy's (+0.2 in every seed) and equal to random's: an
    # equality is never shown by an interval that includes 0, so "removed" stays unresolved
    assert "removes entropy's volume effect:** reduced; whether removed is unresolved" in text
    assert "beat `stratified_random` on worst-group Dice?** resolved better: `weighted_entropy` (final)" in text
    assert "Planned family: 9 tests, Holm-adjusted." in text


def test_noisy_differences_are_not_claims():
    noisy = {"disparity": [0.1, 0.3, 0.1, 0.3], "es_dice": [0.8, 0.6, 0.8, 0.6], "worst_dice": [0.75, 0.65, 0.75, 0.65]}
    m = metrics(
        {
            "entropy": const(**BASE),
            "masked_entropy": const(**BASE),  # same share as entropy: the volume effect is not removed
            "random": const(**BASE),
            "stratified_random": const(**BASE),
            "weighted_entropy": const(**BASE) | noisy,  # +-0.1 around the others: mean 0, within noise
        }
    )
    text = "\n".join(rr.verdicts(m, "weak", "balanced"))
    assert "(b) Weighted Entropy has the highest ES-Dice:** unresolved: not resolved better than" in text
    assert "does not hold" not in text and "within noise" not in text
    assert "volume effect:** unresolved whether masking changes the share" in text
    assert "none resolved better" in text


def test_holm_unresolves_what_one_test_alone_would_resolve():
    # weighted minus stratified on final worst-group Dice: +0.02, +0.03, +0.025, +0.01: t = 4.98 on 3 df,
    # p = 0.016 alone. It is the third smallest p of the cell's 9 tests (two constant differences have
    # p = 0), so Holm multiplies it by 7: 0.11
    lift = {"worst_dice": [0.72, 0.73, 0.725, 0.71]}
    m = metrics(
        {
            "entropy": const(**BASE | dict(acquired_share=0.3)),
            "masked_entropy": const(**BASE),
            "random": const(**BASE),
            "stratified_random": const(**BASE),
            "weighted_entropy": const(**BASE | dict(disparity=0.1)) | lift,
        }
    )
    from fair_seg_al.analysis.stats import paired_summary

    alone = paired_summary([0.02, 0.03, 0.025, 0.01])
    assert alone.resolved and 0.014 < alone.t_p < 0.018
    text = "\n".join(rr.verdicts(m, "strong", "balanced"))
    line = next(x for x in text.splitlines() if "beat `stratified_random`" in x)
    assert (
        "none resolved better" in line
        and "`weighted_entropy` final unresolved (+0.021" in line
        and "Holm p=0.11" in line
    )


def test_archived_weighted_entropy_labels():
    from omegaconf import OmegaConf

    from fair_seg_al.analysis.runs import run_label

    def cfg(name, floor):
        return OmegaConf.create({"strategy": {"name": name, "weight_floor": floor, "estimator": {"name": "train"}}})

    assert run_label(cfg("weighted_entropy", 0.1)) == "weighted_entropy_floor"  # the replication's variant
    assert run_label(cfg("weighted_entropy_bare", 0.0)) == "weighted_entropy"  # the paper's form, as archived
    assert run_label(cfg("weighted_entropy", 0.0)) == "weighted_entropy"  # today's preset


WORST4 = dict(worst_dice=0.7, worst_nsd=0.8, auc_worst_dice=0.6, auc_worst_nsd=0.7, acquired_share=0.5)


def test_minority_cell_questions_by_hand():
    m = metrics(
        {
            "stratified_random": const(**WORST4),
            "random": jitter(**WORST4 | dict(worst_dice=0.6, acquired_share=0.2)),  # resolved worse, final Dice
            "composition_control": jitter(2, **WORST4),
            rr.SHORTFALL: jitter(-1, **WORST4),
            # the candidate: +0.05 final worst Dice over stratified random and over the shortfall twin
            rr.CANDIDATE: jitter(**WORST4 | dict(worst_dice=0.75)),
            rr.ORACLE: jitter(3, **WORST4),
        }
    )
    text = "\n".join(rr.minority_verdicts(m, "strong", "imbalanced"))
    # family: 4 rules (random, composition control, shortfall, candidate) x 4 metrics (q1) + 4 (q2) + 4 (q3)
    assert "Planned family: 24 tests, Holm-adjusted." in text
    q1 = text.split("**1.")[1].split("\n")[0]
    assert f"resolved better: `{rr.CANDIDATE}` worst_dice; resolved worse: `random` worst_dice" in q1
    q2 = text.split("**2.")[1].split("\n")[0]
    assert "resolved better: worst_dice" in q2 and "worst_nsd unresolved" in q2
    q3 = text.split("**3.")[1].split("\n")[0]
    assert "none resolved better" in q3
    # B images acquired of 80: share x 80
    assert "`random` 16.0 (SD 0.0)" in text and "`stratified_random` 40.0 (SD 0.0)" in text


def test_a_rule_identical_to_its_reference_in_every_seed_is_left_out_of_the_minority_family():
    """From a balanced start composition_control selects as stratified_random does: every paired
    difference is exactly 0, which is no test. It is reported as identical and left out; Holm runs
    over the other comparisons only."""
    from fair_seg_al.analysis.stats import holm, paired_summary

    m = metrics(
        {
            "stratified_random": const(**WORST4),
            "composition_control": const(**WORST4),  # identical in every seed, on every metric
            "random": jitter(**{k: v - 0.003 for k, v in WORST4.items()} | dict(acquired_share=0.5)),
        }
    )
    text = "\n".join(rr.minority_verdicts(m, "strong", "balanced"))
    assert (
        "Planned family: 4 tests, Holm-adjusted. Left out of it: 4 comparisons identical in every seed by "
        "construction" in text
    )
    q1 = text.split("**1.")[1].split("\n")[0]
    for k in rr.WORST:
        assert f"`composition_control` {k} identical in all 4 seeds (by construction; left out of the family)" in q1
    # random's 4 tests are the family: each -0.003 + the wobble, Holm over 4 (not 8)
    alone = paired_summary([-0.003 + e for e in (0.001, -0.001, 0.002, -0.002)])
    assert f"Holm p={holm([alone.t_p] * 4)[0]:.2g})" in q1
    assert f"Holm p={holm([alone.t_p] * 4 + [1.0] * 4)[0]:.2g})" not in q1


@pytest.mark.parametrize("n_seeds", [4, 12])
def test_weak_cell_claim_a_by_hand(n_seeds):
    base = dict(disparity=0.1, nsd_disparity=0.05, worst_dice=0.7, auc_worst_dice=0.6)
    m = metrics(
        {
            "entropy": const(n_seeds, **base),
            "stratified_random": const(n_seeds, **base),
            # 0.1 -> 0.014: an 86 % cut in every seed, the paper's number
            "weighted_entropy": const(n_seeds, **base | dict(disparity=0.014)),
        }
    )
    text = "\n".join(rr.weak_verdicts(m, "weak", "balanced"))
    assert "Planned family: 6 tests" in text  # (a) 2 + 2 rules x 2 metrics
    assert "reduction +86 % [+86, +86]" in text
    assert "Dice disparity resolved better" in text and "NSD disparity unresolved" in text
    # set against the paper's number only at the planned 12 seeds
    judged = "The paper's 86 % is inside this interval" in text
    assert judged == (n_seeds == 12)
    assert ("Interim (4 seeds): not set against the paper's 86 % before 12" in text) == (n_seeds == 4)


def test_weak_cell_amendment_is_its_own_labelled_family():
    base = dict(disparity=0.1, nsd_disparity=0.05, worst_dice=0.7, auc_worst_dice=0.6, acquired_share=0.5)
    base |= dict(worst_nsd=0.8, auc_worst_nsd=0.7)
    m = metrics(
        {
            "entropy": const(**base),
            "stratified_random": const(**base),
            rr.WE: const(**base),
            # the control's shortfall counts alone: +0.02 AUC over stratified random, 44 B images of 80
            "composition_control": const(**base | dict(auc_worst_dice=0.62, acquired_share=0.55)),
            # the candidate: the control's gain and +0.01 more in every seed
            rr.CANDIDATE: const(**base | dict(auc_worst_dice=0.63, acquired_share=0.55, worst_nsd=0.85)),
        }
    )
    text = "\n".join(rr.weak_verdicts(m, "weak", "imbalanced"))
    # the planned family is unchanged by the control: (a) 2 + 3 rules (entropy, WE, candidate) x 2 metrics
    assert "Planned family: 8 tests" in text
    planned = text.split("(final, AUC)?**")[1].split("\n")[0]
    assert "composition_control" not in planned
    post = text.split("Post hoc (amendment; its own family of 4 tests)")[1].split("\n")[0]
    assert (
        f"resolved better: `{rr.CANDIDATE}` minus `composition_control` auc_worst_dice, "
        "`composition_control` minus `stratified_random` auc_worst_dice." in post
    )
    assert "`composition_control` minus `stratified_random` worst_dice unresolved" in post
    assert "`composition_control` 44.0 (SD 0.0)" in text and "`stratified_random` 40.0 (SD 0.0)" in text
    # worst-group NSD (not in the plan): its own exploratory family, the planned one unchanged
    nsd = text.split("Exploratory (not in the plan; its own family of 6 tests)")[1].split("\n")[0]
    assert f"resolved better: `{rr.CANDIDATE}` worst_nsd." in nsd
    # without the control's runs (the balanced start) there is no post-hoc line
    balanced = m[m["strategy"] != "composition_control"]
    assert "Post hoc" not in "\n".join(rr.weak_verdicts(balanced, "weak", "balanced"))


def test_an_unknown_cell_is_refused_naming_the_archived_ones():
    with pytest.raises(SystemExit, match=r"no archived cell nope under .*\(have: .*sweep_powered"):
        rr.main(["nope"])


def test_anatomies_cell_questions_by_hand(tmp_path, monkeypatch):
    monkeypatch.setattr(rr, "RUNS", tmp_path)  # no template cell archived: no side-by-side line
    m = metrics(
        {
            "stratified_random": const(**WORST4),
            "composition_control": const(**WORST4),
            "masked_entropy": const(**WORST4 | dict(auc_worst_nsd=0.6)),  # resolved worse on one AUC
            # the bare Weighted Entropy: +0.05 final worst Dice over stratified random and its control
            rr.WE: const(**WORST4 | dict(worst_dice=0.75, acquired_share=0.4)),
        }
    )
    text = "\n".join(rr.anatomy_verdicts(m, "strong", "imbalanced"))
    assert "Planned family: 16 tests, Holm-adjusted." in text  # 3 rules x 4 metrics + 4 (q2)
    q1 = text.split("**1.")[1].split("\n")[0]
    assert f"resolved better: `{rr.WE}` worst_dice; resolved worse: `masked_entropy` auc_worst_nsd" in q1
    q2 = text.split("**2.")[1].split("\n")[0]
    assert "resolved better: worst_dice" in q2 and "auc_worst_dice unresolved" in q2
    assert "Does the answer hold" not in text
    assert f"`{rr.WE}` 32.0 (SD 0.0)" in text  # 0.4 x 80


def test_anatomies_side_by_side_reads_the_template_cells_published_verdicts(monkeypatch):
    # the template cell: the candidate +0.0175 on AUC worst Dice over stratified random, p=0.035
    # unadjusted, but one of 8 tests in its family (Holm p=0.28): its published verdict is unresolved
    template = metrics(
        {
            "stratified_random": const(**WORST4),
            "composition_control": jitter(**WORST4),
            rr.CANDIDATE: jitter(-1, **WORST4) | {"auc_worst_dice": [0.61, 0.62, 0.61, 0.63]},
        }
    ).assign(bias="strong", init="imbalanced")
    monkeypatch.setattr(rr, "_template_metrics", lambda: template)
    m = metrics(
        {
            "stratified_random": const(**WORST4),
            "composition_control": const(**WORST4),
            rr.CANDIDATE: const(**WORST4 | dict(auc_worst_dice=0.65)),  # +0.05 in every seed
            rr.WE: const(**WORST4),
        }
    )
    text = "\n".join(rr.anatomy_verdicts(m, "strong", "imbalanced"))
    held = text.split("Does the answer hold?")[1].split("\n")[0]
    assert "Holm-adjusted within its own family, 4 seeds" in held
    assert f"`{rr.CANDIDATE}` auc_worst_dice: here better, one template unresolved" in held
    assert f"`{rr.WE}` worst_dice: here unresolved, one template not run" in held


def test_anatomies_side_by_side_table_and_figure(tmp_path, monkeypatch):
    # template: masked entropy -0.04 on final worst Dice in every seed (resolved worse there); here the
    # same rule +0.01 in 3 seeds of 4 and -0.01 in one: mean +0.005, unresolved
    template = metrics(
        {
            "stratified_random": const(**WORST4),
            "masked_entropy": const(**WORST4 | dict(worst_dice=WORST4["worst_dice"] - 0.04)),
        }
    ).assign(bias="strong", init="imbalanced")
    monkeypatch.setattr(rr, "_template_metrics", lambda: template)
    lift = [WORST4["worst_dice"] + d for d in (0.01, 0.01, 0.01, -0.01)]
    here = metrics(
        {"stratified_random": const(**WORST4), "masked_entropy": const(**WORST4) | {"worst_dice": lift}}
    ).assign(bias="strong", init="imbalanced")
    rr.anatomy_figures(here, tmp_path)
    t = pd.read_csv(tmp_path / "side_by_side.csv").set_index(["cohort", "rule", "metric"])
    assert len(t) == 12  # one rule x 4 metrics x (2 cohorts + their difference)
    assert t.loc[("one template", "masked_entropy", "worst_dice"), "mean_diff"] == pytest.approx(-0.04)
    assert t.loc[("one template", "masked_entropy", "worst_dice"), "verdict"] == "worse"
    mine = t.loc[("six anatomies", "masked_entropy", "worst_dice")]
    assert mine["mean_diff"] == pytest.approx(0.005) and mine["verdict"] == "unresolved"
    # t = 0.005 / (0.01 / 2) = 1 on 3 df: p = 0.39 alone; the smallest of the family's 4, so Holm x 4: capped at 1
    assert mine["p_holm"] == pytest.approx(1.0)
    assert (tmp_path / "side_by_side.png").stat().st_size > 10_000
    # between the cohorts: +0.005 - (-0.04) = +0.045; the template's differences are constant, so
    # Welch's SE is here's alone, 0.01 / 2, on 3 df: t = 9, p = 0.0029; the 3 other metrics are 0 on
    # both sides (p 1), so Holm multiplies it by 4: 0.0116, resolved
    between = t.loc[(rr.BETWEEN, "masked_entropy", "worst_dice")]
    assert between["mean_diff"] == pytest.approx(0.045) and between["verdict"] == "higher here"
    assert between["p_holm"] == pytest.approx(4 * 0.0029, abs=1e-3)
    assert (t.loc[rr.BETWEEN]["verdict"] == "unresolved").sum() == 3
