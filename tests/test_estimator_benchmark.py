"""The estimator benchmark's numbers (fair_seg_al.analysis.estimators; its decision rule in
sweeps/studies/estimators.py), from hand-made archived runs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from studies.estimators import group_means, label_free_family, label_free_markdown, paired_markdown, pool_decision

from fair_seg_al.analysis import estimators as bench
from fair_seg_al.strategies.weights import group_weights


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


def _pool_run(root, seed, arm, rows, labeled=None):
    """rows: [(round, estimator, est_A, est_B, pool_A, pool_B)]; the test Dice equals the pool's.
    labeled: (n_A, n_B) labeled images in every round, written to rounds.csv when given."""
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
    r = pd.DataFrame({"round": [0, 1], "n_labeled": [10, 20], "seconds_train": 2.0})
    if labeled is not None:
        r = r.assign(n_labeled_A=labeled[0], n_labeled_B=labeled[1])
    r.to_csv(run / "rounds.csv", index=False)
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


def test_vectorised_weight_ratio_matches_group_weights():
    # log_weight_ratios is what the simulated ideals use; group_weights is what selection uses
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.3, 1.1, 200), rng.uniform(0.3, 1.1, 200)  # Dice above 1 clips the error to 0
    a[:10], b[5:15] = np.nan, np.nan
    a[20:25] = b[20:25] = 1.0  # no error in either group: the neutral weights
    got = bench.log_weight_ratios(a, b)
    for x, y, lr in zip(a, b, got, strict=True):
        w = group_weights({"A": x, "B": y}, "one_minus_dice", floor=0.1)
        assert lr == pytest.approx(math.log(w["B"] / w["A"]), abs=1e-9)


def _truth_frames(se, n_b, pool_images=50):
    """One run, one round: pool Dice A 0.9, B 0.7, both with standard error se; 10 labeled A, n_b labeled B."""
    keys = {"arm": "random", "bias": "strong", "init": "balanced", "seed": 0, "run": "r0", "round": 0}
    est = pd.DataFrame(
        [keys | {"estimator": "oracle", "group": g, "pool_dice": d, "pool_dice_se": se, "pool_images": pool_images}
         for g, d in (("A", 0.9), ("B", 0.7))]
    )  # fmt: skip
    return est, pd.DataFrame([keys | {"n_labeled_A": 10, "n_labeled_B": n_b}])


def test_ideal_estimators_by_hand():
    # Dice 0.9 / 0.7: errors 0.1 / 0.3, mean 0.2, weights 0.1 + 0.9 * (0.5, 1.5) = 0.55, 1.45
    true_lr = math.log(1.45 / 0.55)
    # no pool noise: the pool-knowing ideal is exact; with no labeled B image the sample ideal leaves B
    # unmeasured (neutral weights, ratio 0): error |true ratio|, and B's quota share 10 * 1.45 / 2 = 7.25
    # instead of 5, a composition error of 2.25
    est, rounds = _truth_frames(se=0.0, n_b=0)
    got = bench.ideal_errors(est, rounds, draws=50).set_index("estimator")
    assert got.loc[bench.IDEAL_POOL, "lr_err"] == 0.0 and got.loc[bench.IDEAL_POOL, "comp_err"] == 0.0
    assert got.loc[bench.IDEAL_SAMPLE, "lr_err"] == pytest.approx(true_lr)
    assert got.loc[bench.IDEAL_SAMPLE, "comp_err"] == pytest.approx(2.25)
    # with noise: the labeled sample (10 of 50 images) is sqrt(5) times noisier than the pool mean, so its
    # ideal errs more; small noise, errors near |d lr / d Dice| * E|noise| (a first-order bound, not exact)
    est, rounds = _truth_frames(se=0.002, n_b=10)
    got = bench.ideal_errors(est, rounds, draws=4000).set_index("estimator")
    assert 0 < got.loc[bench.IDEAL_POOL, "lr_err"] < got.loc[bench.IDEAL_SAMPLE, "lr_err"] < 0.2
    assert got.loc[bench.IDEAL_SAMPLE, "lr_err"] / got.loc[bench.IDEAL_POOL, "lr_err"] == pytest.approx(
        math.sqrt(5), rel=0.1
    )
    # runs without per-group labeled counts get no ideal rows (the old benchmarks' raw runs)
    assert bench.ideal_errors(est, rounds.drop(columns="n_labeled_B")).empty


def _label_free_runs(root, agreement_off, rca_off):
    """Three masked-entropy runs, two rounds: pool truth varies by run; the oracle is exact, `agreement`
    and `rca` miss B by their offsets, `train` by +0.2, `prequential` by +0.05. Every run has a large gap
    in round 0 and none in round 1, so the constant guess errs by about 0.48 at each point, and a miss
    of B by +0.2 errs by (0.35 + 0.97) / 2 on average (log ratios 0.969 / 0 true, 0.619 / -0.969 missed):
    worse than the constant."""
    truths = {0: [(0.8, 0.4), (0.7, 0.7)], 1: [(0.8, 0.42), (0.7, 0.69)], 2: [(0.79, 0.4), (0.71, 0.7)]}
    misses = {"oracle": 0.0, "agreement": agreement_off, "rca": rca_off, "train": 0.2, "prequential": 0.05}
    for seed, pts in truths.items():
        rows = [(rnd, n, pa, pb + m, pa, pb) for rnd, (pa, pb) in enumerate(pts) for n, m in misses.items()]
        _pool_run(root, seed, "masked_entropy", rows, labeled=(10, 10))
    est, rounds = bench.load(root)
    scores = bench.pool_scores(est, rounds)
    return label_free_family(scores, bench.summarise(est, rounds)), scores, est


def test_label_free_family_and_decision_by_hand(tmp_path, monkeypatch):
    family, scores, est = _label_free_runs(tmp_path / "exact", agreement_off=0.0, rca_off=0.1)
    # two label-free estimators x (constant, reference) in the one arm; the reference is the better
    # label-based one (prequential misses by less than train)
    assert len(family) == 4 and set(family["against"]) == {"constant (reference)", "prequential"}
    assert (family["runs"] == 3).all() and (family["planned_runs"] == 72).all()
    f = family.set_index(["estimator", "against"])
    # exact agreement: its error is 0, so its difference is minus the other's per-run error
    pooled = scores[(scores["bias"] == "all") & (scores["init"] == "all")].set_index("estimator")
    assert f.loc[("agreement", "prequential"), "diff"] == pytest.approx(-pooled.loc["prequential", "lr_err"])
    assert f.loc[("agreement", "constant (reference)"), "verdict"] == "resolved better"
    assert f.loc[("rca", "prequential"), "diff"] > 0
    # Holm: the smallest p times 4, never below the raw p, and monotone in the raw p's order
    ordered = family.sort_values("p")
    assert ordered["p_holm"].iloc[0] == pytest.approx(min(1.0, 4 * ordered["p"].iloc[0]))
    assert (ordered["p_holm"].diff().dropna() >= 0).all() and (family["p_holm"] >= family["p"]).all()
    # the simulated ideals are on the scale's page; the report marks the look as interim (3 of 72 runs)
    assert {bench.IDEAL_SAMPLE, bench.IDEAL_POOL} <= set(pooled.index)
    text = "\n".join(label_free_markdown(family, scores, est))
    assert (
        "**INCOMPLETE: an interim look, not a verdict** (`masked_entropy` 3 of 72 runs, `random` 0 of 40 runs)" in text
    )
    # an interim look states no decision, however clear its numbers
    assert "No decision before the plan's 12 tests have all their planned runs." in text
    assert "after Holm" not in text.split("No decision before")[1]
    # a plan these runs complete (one arm of 3 runs, 4 tests): now the decision is stated
    monkeypatch.setattr("studies.estimators.PLANNED_RUNS", {"masked_entropy": 3})
    monkeypatch.setattr("studies.estimators.PLANNED_TESTS", 4)
    complete = "\n".join(label_free_markdown(family, scores))
    assert "All planned runs are in (`masked_entropy` 3 of 3 runs)." in complete
    assert "after Holm: `agreement`" in complete
    # one test short of the plan's family (an estimator missing): interim again
    assert "**INCOMPLETE" in "\n".join(label_free_markdown(family[family["estimator"] != "rca"], scores))
    monkeypatch.setattr("studies.estimators.PLANNED_RUNS", {"masked_entropy": 2})  # more runs than planned
    assert "**INCOMPLETE" in "\n".join(label_free_markdown(family, scores))
    monkeypatch.setattr("studies.estimators.PLANNED_RUNS", {"masked_entropy": 3})
    # what each estimate sees: rca's B is the pool's B + 0.1 at every point, so its mean is too;
    # pool means over the 6 points: A (0.8 + 0.7 + 0.8 + 0.7 + 0.79 + 0.71) / 6 = 0.75, B 0.551667
    means = group_means(est, ["rca", "agreement"]).set_index("estimator")
    assert means.loc["rca", "pool_A"] == pytest.approx(0.75) and means.loc["rca", "pool_B"] == pytest.approx(3.31 / 6)
    assert means.loc["rca", "estimate_B"] == pytest.approx(3.31 / 6 + 0.1)
    assert means.loc["agreement", "estimated_gap"] == pytest.approx(0.75 - 3.31 / 6)
    assert "| masked_entropy | `rca` | 0.750 / 0.652 | 0.750 / 0.552 | +0.098 | +0.198 |" in text
    # both missing B as badly as train: nothing beats the constant, and the page says so
    family, scores, est = _label_free_runs(tmp_path / "off", agreement_off=0.2, rca_off=0.2)
    assert family.set_index(["estimator", "against"]).loc[("rca", "constant (reference)"), "diff"] == pytest.approx(
        (0.35 + 0.969) / 2 - 0.48, abs=0.02
    )
    text = "\n".join(label_free_markdown(family, scores))
    assert "**No label-free estimator is resolved better than the constant" in text
    assert not (family["verdict"] == "resolved better").any()


def test_the_holdout_table_is_written_only_where_runs_have_a_holdout_probe(tmp_path):
    (tmp_path / "paired.csv").write_text("stale\n")  # from an earlier report of other runs
    lines = paired_markdown(pd.DataFrame(), tmp_path)
    assert lines[-1] == "No `holdout` probe in these runs, so nothing is paired against it."
    assert not (tmp_path / "paired.csv").exists()
    row = {"arm": "random", "estimator": "train", "reference": "holdout", "runs": 4}
    row |= {"logratio_err_diff": -0.0125, "lo": -0.03, "hi": 0.005, "runs_better": 3}
    lines = paired_markdown(pd.DataFrame([row]), tmp_path)
    assert lines[-1] == "| random | train | 4 | -0.013 [-0.030, +0.005] | 3 of 4 |"
    assert pd.read_csv(tmp_path / "paired.csv")["logratio_err_diff"].tolist() == [-0.0125]
