"""The report: hand-made run folders in, hand-computed table out; bad folders refused."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from omegaconf import OmegaConf

from fair_seg_al.analysis.report import ReportError, area_under_budget, build_report, main


def make_run(
    root,
    name,
    strategy,
    seed,
    dice_a,
    dice_b,
    bias="strong",
    init="imbalanced",
    test=("t1", "t2"),
    cohort="c1",
    rounds_planned=1,
    failed=None,
    estimator=None,
    composition=None,
    strategy_extra=None,
):
    run = root / name
    (run / ".hydra").mkdir(parents=True)
    strategy_cfg = {"name": strategy, **(strategy_extra or {})}
    if estimator:
        strategy_cfg["estimator"] = {"name": estimator}
    if composition:
        strategy_cfg["composition"] = {"name": composition}
    cfg = {
        "strategy": strategy_cfg,
        "bias": {"name": bias},
        "init": {"name": init},
        "seed": seed,
        "al": {"rounds": rounds_planned},
    }
    OmegaConf.save(OmegaConf.create(cfg), run / ".hydra" / "config.yaml")
    (run / "split.json").write_text(json.dumps({"cohort": cohort, "test": list(test), "val": [], "pool": []}))
    rows = []
    for r, (a, b) in enumerate(zip(dice_a, dice_b, strict=True)):
        dice = (a + b) / 2
        dsum = abs(a - dice) + abs(b - dice)
        rows.append(
            {
                "round": r,
                "n_labeled": 10 + 10 * r,
                "n_labeled_A": 5,
                "n_labeled_B": 5 + 10 * r,
                "dice": dice,
                "dice_A": a,
                "dice_B": b,
                "disparity": abs(a - b),
                "es_dice": dice / (1 + dsum),
            }
        )
    pd.DataFrame(rows).to_csv(run / "rounds.csv", index=False)
    sel = [{"round": 0, "subject_id": "s0", "group": "A"}] + [
        {"round": 1, "subject_id": f"s{i}", "group": "B" if i < 3 else "A"} for i in range(1, 5)
    ]
    pd.DataFrame(sel).to_csv(run / "selections.csv", index=False)
    if failed:
        (run / "FAILED").write_text(failed)
    return run


def test_table_values_by_hand(tmp_path):
    sweep = tmp_path / "sweep"
    # entropy: final disparities 0.2 and 0.4 -> mean 0.3; weighted: 0.1 and 0.05 -> mean 0.075
    make_run(sweep, "0", "entropy", 0, [0.6, 0.8], [0.5, 0.6])
    make_run(sweep, "1", "entropy", 1, [0.6, 0.9], [0.5, 0.5])
    make_run(sweep, "2", "weighted_entropy", 0, [0.6, 0.7], [0.5, 0.8])
    make_run(sweep, "3", "weighted_entropy", 1, [0.6, 0.75], [0.5, 0.7])
    out = build_report([sweep])
    table = pd.read_csv(out / "final_table.csv").set_index("strategy")
    assert table.loc["entropy", "dice_disparity"] == pytest.approx(0.3)
    assert table.loc["entropy", "dice_disparity_sd"] == pytest.approx(0.1414213, rel=1e-5)  # SD of 0.2, 0.4
    assert table.loc["weighted_entropy", "dice_disparity"] == pytest.approx(0.075)
    assert table.loc["weighted_entropy", "disparity_reduction_pct"] == pytest.approx(75.0)
    assert table.loc["entropy", "disparity_reduction_pct"] == pytest.approx(0.0)
    assert table.loc["weighted_entropy", "dice_B"] == pytest.approx(0.75)
    # AUC of Dice for entropy seed 0: trapezoid of (0.55, 0.70) over 10..20 = mean 0.625; seed 1: (0.55, 0.70)
    assert table.loc["entropy", "auc_dice"] == pytest.approx(0.625)
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 8 and set(summary.columns) >= {"strategy", "bias", "init", "seed", "round", "dice_B"}
    text = (out / "report.md").read_text()
    assert "## bias=strong, init=imbalanced (n_labeled = 20)" in text and "+75 %" in text
    for png in ("dice_groups", "disparity", "es_dice", "acquired_share"):
        assert (out / f"{png}.png").read_bytes()[:4] == b"\x89PNG"


def test_area_under_budget_by_hand():
    curve = pd.DataFrame({"n_labeled": [10, 20, 40], "m": [0.0, 1.0, 1.0]})
    # area = 0.5*10 + 1*20 = 25 over a range of 30
    assert area_under_budget(curve, "m") == pytest.approx(25 / 30)


def test_failed_and_incomplete_runs_are_listed_not_averaged(tmp_path):
    sweep = tmp_path / "sweep"
    make_run(sweep, "0", "entropy", 0, [0.6, 0.8], [0.5, 0.6])
    make_run(sweep, "1", "entropy", 1, [0.6], [0.1])  # stopped after round 0 of 1
    make_run(sweep, "2", "random", 0, [0.6, 0.8], [0.5, 0.6], failed="RuntimeError: out of memory")
    out = build_report([sweep])
    text = (out / "report.md").read_text()
    assert "unfinished: round 0 of 1" in text and "RuntimeError: out of memory" in text
    table = pd.read_csv(out / "final_table.csv").set_index("strategy")
    assert list(table.index) == ["entropy"] and table.loc["entropy", "seeds"] == 1


def test_refuses_folders_without_runs(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportError, match="no AL runs"):
        build_report([tmp_path / "empty"])
    with pytest.raises(SystemExit) as err:
        main([str(tmp_path / "empty")])
    assert err.value.code == 2 and "no AL runs" in capsys.readouterr().err


def test_refuses_runs_with_different_test_sets(tmp_path):
    make_run(tmp_path / "a", "0", "entropy", 0, [0.6, 0.8], [0.5, 0.6], test=("t1", "t2"))
    make_run(tmp_path / "b", "0", "random", 0, [0.6, 0.8], [0.5, 0.6], test=("t1", "t3"))
    with pytest.raises(ReportError, match="different test sets"):
        build_report([tmp_path / "a", tmp_path / "b"])
    # different biases may have different cohorts: they are separate panels
    make_run(tmp_path / "c", "0", "random", 0, [0.6, 0.8], [0.5, 0.6], bias="weak", cohort="c2")
    assert build_report([tmp_path / "a", tmp_path / "c"], tmp_path / "out").is_dir()


def test_a_cohort_per_seed_is_comparable_within_each_seed(tmp_path):
    # seed 0 on test set (t1, t2), seed 1 on (t3, t4): each seed's strategies share theirs
    make_run(tmp_path / "s", "e0", "entropy", 0, [0.6, 0.8], [0.5, 0.6], test=("t1", "t2"))
    make_run(tmp_path / "s", "r0", "random", 0, [0.6, 0.7], [0.5, 0.5], test=("t1", "t2"))
    make_run(tmp_path / "s", "e1", "entropy", 1, [0.6, 0.8], [0.5, 0.7], test=("t3", "t4"))
    make_run(tmp_path / "s", "r1", "random", 1, [0.6, 0.7], [0.5, 0.6], test=("t3", "t4"))
    assert build_report([tmp_path / "s"], tmp_path / "out").is_dir()
    # but one seed's strategies on two test sets is refused
    make_run(tmp_path / "s", "x1", "masked_entropy", 1, [0.6, 0.7], [0.5, 0.6], test=("t3", "t5"))
    with pytest.raises(ReportError, match="seed=1 use 2 different test sets"):
        build_report([tmp_path / "s"], tmp_path / "out2")


def test_variants_are_kept_apart_and_the_oracle_control_is_labelled(tmp_path):
    make_run(tmp_path, "paper", "weighted_entropy", 0, [0.7, 0.8], [0.5, 0.6], estimator="train", composition="topk")
    make_run(tmp_path, "hq", "weighted_entropy", 0, [0.7, 0.8], [0.5, 0.7], estimator="holdout", composition="quota")
    make_run(tmp_path, "orc", "weighted_entropy", 0, [0.7, 0.8], [0.5, 0.8], estimator="oracle", composition="quota")
    out = build_report([tmp_path], out=tmp_path / "report")
    table = pd.read_csv(out / "final_table.csv").set_index("strategy")
    assert set(table.index) == {
        "weighted_entropy",
        "weighted_entropy.holdout.quota",
        "weighted_entropy.oracle.quota (oracle control)",
    }
    assert table.loc["weighted_entropy.holdout.quota", "dice_B"] == pytest.approx(0.7)
    assert "(oracle control)" in (out / "report.md").read_text()


def test_paired_comparisons_by_hand(tmp_path):
    # final disparities: entropy 0.10, 0.12, 0.08; weighted 0.05, 0.07, 0.06 -> paired -0.05, -0.05, -0.02
    for seed, (d_ent, d_we) in enumerate([(0.10, 0.05), (0.12, 0.07), (0.08, 0.06)]):
        make_run(tmp_path, f"ent{seed}", "entropy", seed, [0.8], [0.8 - d_ent], rounds_planned=0)
        make_run(tmp_path, f"we{seed}", "weighted_entropy", seed, [0.8], [0.8 - d_we], rounds_planned=0)
    out = main_out = tmp_path / "rep"
    main([str(tmp_path), "--out", str(main_out)])
    paired = pd.read_csv(out / "paired.csv")
    row = paired[(paired["strategy"] == "weighted_entropy") & (paired["metric"] == "disparity")].iloc[0]
    assert row["reference"] == "entropy" and row["seeds"] == 3
    assert row["mean_diff"] == pytest.approx(-0.04)
    # paired t: SD sqrt((0.01^2 + 0.01^2 + 0.02^2) / 2) = 0.017321, SE 0.01, t(0.975, 2) = 4.302653
    assert row["ci_low"] == pytest.approx(-0.04 - 0.04302653, abs=1e-6)
    assert row["ci_high"] == pytest.approx(-0.04 + 0.04302653, abs=1e-6)
    # the percentile bootstrap of three seeds spans only the values seen: it would call it resolved
    assert row["boot_low"] == pytest.approx(-0.05) and row["boot_high"] == pytest.approx(-0.02)
    assert not bool(row["resolved"]) and row["sign_p"] == pytest.approx(0.25)  # 3 of 3 negative: 2 / 2^3
    assert row["reduction"] == pytest.approx((0.10 - 0.06) / 0.10)
    # worst-group Dice is group B's: 0.8 - d, so the paired difference is +0.04
    worst = paired[(paired["strategy"] == "weighted_entropy") & (paired["metric"] == "worst_dice")].iloc[0]
    assert worst["mean_diff"] == pytest.approx(0.04)
    text = (out / "report.md").read_text()
    assert f"Produced by: `python -m fair_seg_al.analysis.report {tmp_path} --out {main_out}`" in text
    assert "| -0.040 [-0.083, +0.003]" in text  # unresolved, so not bold
    assert (out / "paired_differences.png").is_file()


def test_duplicate_runs_are_refused_and_same_named_variants_kept_apart(tmp_path):
    make_run(tmp_path / "sweep1", "a", "weighted_entropy", 0, [0.7], [0.5], rounds_planned=0)
    make_run(tmp_path / "sweep2", "a", "weighted_entropy", 0, [0.7], [0.6], rounds_planned=0)
    with pytest.raises(ReportError, match=r"sweep1/a and .*sweep2/a are the same experiment"):
        build_report([tmp_path], out=tmp_path / "rep")
    # the same name, but a different strategy config: two variants, never pooled
    other = tmp_path / "variants"
    make_run(other, "v1", "we", 0, [0.7], [0.5], rounds_planned=0)
    make_run(other, "v2", "we", 0, [0.7], [0.6], rounds_planned=0, strategy_extra={"weight_form": "softmax"})
    from fair_seg_al.analysis.runs import find_runs

    labels = sorted(r.strategy for r in find_runs([other]))
    assert len(set(labels)) == 2 and all(lab.startswith("we [") for lab in labels)


def test_summary_paths_are_relative_and_references_configurable(tmp_path):
    sweep = tmp_path / "sweep"
    for seed in (0, 1):
        make_run(sweep, f"e{seed}", "entropy", seed, [0.6, 0.8], [0.5, 0.6])
        make_run(sweep, f"r{seed}", "random", seed, [0.6, 0.7], [0.5, 0.6])
    out = tmp_path / "elsewhere" / "report"
    main([str(sweep), "--out", str(out), "--references", "random"])
    summary = pd.read_csv(out / "summary.csv")
    assert {(out / p).resolve() for p in summary["run_dir"]} == {
        (sweep / n).resolve() for n in ("e0", "e1", "r0", "r1")
    }
    paired = pd.read_csv(out / "paired.csv")
    assert set(paired["reference"]) == {"random"} and set(paired["strategy"]) == {"entropy"}
    # entropy's final disparity 0.2 vs random's 0.1 in both seeds
    d = paired.set_index("metric").loc["disparity"]
    assert d["mean_diff"] == pytest.approx(0.1)


def test_acquired_share_of_the_second_group_by_hand():
    from fair_seg_al.analysis.comparisons import run_metrics

    summary = pd.DataFrame(
        {
            "bias": "strong", "init": "balanced", "strategy": "entropy", "seed": 0, "run_dir": "r",
            "n_labeled": [10, 20, 30], "n_labeled_A": [5, 12, 21], "n_labeled_B": [5, 8, 9],
            "dice_A": [0.5, 0.6, 0.7], "dice_B": [0.4, 0.5, 0.5], "dice_disparity": [0.1, 0.1, 0.2],
            "es_dice": [0.4, 0.5, 0.5],
        }
    )  # fmt: skip
    m = run_metrics(summary, {"r"}).iloc[0]
    assert m["acquired_share"] == pytest.approx((9 - 5) / (30 - 10))
    assert m["gap"] == pytest.approx(0.2) and m["worst_dice"] == pytest.approx(0.5)
    # a metric at a labelled-set size: the round that had it; NaN where no round had it
    m = run_metrics(summary, {"r"}, at=(20, 25)).iloc[0]
    assert m["worst_dice_at_20"] == pytest.approx(0.5) and m["gap_at_20"] == pytest.approx(0.1)
    assert pd.isna(m["worst_dice_at_25"]) and pd.isna(m["worst_nsd_at_20"])  # nsd not recorded


def test_three_groups_in_tables_paired_metrics_and_figures(tmp_path):
    sweep = tmp_path / "sweep"
    for seed in (0, 1):
        for strategy, x in (("entropy", 0.6), ("random", 0.7)):
            run = make_run(sweep, f"{strategy}{seed}", strategy, seed, [0.8, 0.8], [0.7, 0.7])
            df = pd.read_csv(run / "rounds.csv").drop(columns=["dice_A", "dice_B", "n_labeled_A", "n_labeled_B"])
            df = df.assign(dice_F=0.8, dice_M=0.7, dice_X=x, n_labeled_F=4, n_labeled_M=3, n_labeled_X=3,
                           disparity=0.8 - x)  # fmt: skip
            df.to_csv(run / "rounds.csv", index=False)
    out = build_report([sweep])
    table = pd.read_csv(out / "final_table.csv").set_index("strategy")
    assert table.loc["entropy", "dice_X"] == pytest.approx(0.6) and table.loc["random", "dice_F"] == pytest.approx(0.8)
    paired = pd.read_csv(out / "paired.csv").set_index(["reference", "strategy", "metric"])
    # random minus entropy: worst group 0.7 vs 0.6 in both seeds; no two-group gap or share with three groups
    assert paired.loc[("entropy", "random", "worst_dice"), "mean_diff"] == pytest.approx(0.1)
    assert ("entropy", "random", "gap") not in paired.index
    assert "Dice F | Dice M | Dice X" in (out / "report.md").read_text()
    assert (out / "dice_groups.png").read_bytes()[:4] == b"\x89PNG"


def test_levels_with_a_test_set_per_seed_by_hand(tmp_path):
    # each seed its own cohort and one test image per group: the level is the mean over seeds of the
    # per-seed statistic, and the interval spans the seeds (the images cannot be resampled apart)
    for seed, (a, b) in enumerate([(0.9, 0.7), (0.8, 0.4)]):
        run = make_run(tmp_path / "s", f"r{seed}", "random", seed, [a], [b], rounds_planned=0,
                       test=(f"t{seed}a", f"t{seed}b"), cohort=f"c{seed}")  # fmt: skip
        pd.DataFrame(
            {"round": 0, "subject_id": [f"t{seed}a", f"t{seed}b"], "group": ["A", "B"], "dice": [a, b]}
        ).to_csv(run / "test_dice.csv", index=False)
    out = build_report([tmp_path / "s"], tmp_path / "out")
    levels = pd.read_csv(out / "levels.csv").iloc[0]
    assert levels["test_sets"] == "per seed" and levels["seeds"] == 2 and levels["test_images"] == 2
    assert levels["worst_dice"] == pytest.approx((0.7 + 0.4) / 2)
    assert levels["dice_disparity"] == pytest.approx((0.2 + 0.4) / 2)
    assert levels["dice_disparity_low"] == pytest.approx(0.2) and levels["dice_disparity_high"] == pytest.approx(0.4)
    assert "nested in them" in (out / "report.md").read_text()
    assert "each seed's group-balanced test set" in (out / "report.md").read_text()
    # without per-image files there is no level, and the earlier levels.csv does not outlive its runs
    for seed in (0, 1):
        (tmp_path / "s" / f"r{seed}" / "test_dice.csv").unlink()
    build_report([tmp_path / "s"], tmp_path / "out")
    assert not (out / "levels.csv").exists()


def test_the_fast_run_config_reader_reads_as_omegaconf_does(tmp_path):
    # OmegaConf's own YAML rules: 1e-3 is a float (plain YAML 1.1 says string), a date stays a
    # string, an interpolation stays unresolved
    from omegaconf import OmegaConf

    from fair_seg_al.analysis.runs import _read_yaml

    path = tmp_path / "config.yaml"
    path.write_text("lr: 1e-3\nwhen: 2026-12-06\nseed: 3\nname: ${strategy.name}\nstrategy: {name: random}\nx: .5\n")
    data = _read_yaml(path)
    assert data["lr"] == 0.001 and data["when"] == "2026-12-06" and data["x"] == 0.5
    assert OmegaConf.to_container(OmegaConf.create(data)) == OmegaConf.to_container(OmegaConf.load(path))


def test_finished_rounds_reads_one_finished_run_and_refuses_the_rest(tmp_path):
    from fair_seg_al.analysis.runs import finished_rounds

    run = make_run(tmp_path, "done", "entropy", 0, [0.6, 0.8], [0.5, 0.6])
    rounds = finished_rounds(run)
    assert rounds["round"].tolist() == [0, 1] and rounds["dice_A"].tolist() == [0.6, 0.8]
    assert rounds["dice_disparity"].tolist() == pytest.approx([0.1, 0.2])  # an old name, read as today's
    # a config of older code: nothing but the planned rounds is read from it
    old = tmp_path / "old"
    (old / ".hydra").mkdir(parents=True)
    (old / ".hydra" / "config.yaml").write_text("strategy: {name: entropy}\nal: {rounds: 0}\n")
    pd.DataFrame({"round": [0], "dice": [0.5]}).to_csv(old / "rounds.csv", index=False)
    assert finished_rounds(old)["dice"].tolist() == [0.5]
    short = make_run(tmp_path, "short", "entropy", 0, [0.6, 0.8], [0.5, 0.6], rounds_planned=2)
    with pytest.raises(ReportError, match="unfinished: round 1 of 2"):
        finished_rounds(short)
    failed = make_run(tmp_path, "failed", "entropy", 0, [0.6, 0.8], [0.5, 0.6], failed="Traceback\nOSError: disk full")
    with pytest.raises(ReportError, match="failed: OSError: disk full"):
        finished_rounds(failed)
    (old / "rounds.csv").unlink()
    with pytest.raises(ReportError, match="no rounds.csv"):
        finished_rounds(old)
