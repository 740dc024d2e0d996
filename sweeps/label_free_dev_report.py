"""Choose the label-free estimators' settings on the development cohort (issue 34).

    python sweeps/label_free_dev_report.py     # reads docs/estimators/label_free/dev_runs/, writes dev.md there

The rule (docs/plans/label_free_estimators.md, written before these runs): per estimator, the
setting with the lowest mean log weight-ratio error against the pool truth over the development
runs; a setting within 0.005 of it that costs less time per round is taken instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fair_seg_al.analysis.estimators import load, pool_scores  # noqa: E402
from fair_seg_al.utils.io import atomic_write_text  # noqa: E402

RUNS = ROOT / "docs" / "estimators" / "label_free" / "dev_runs"
OUT = RUNS.parent / "dev.md"
SETTINGS = {  # estimator -> its settings' probe names (experiment=estimator_dev_label_free)
    "agreement": ["agreement", "agreement_tta", "agreement_calibrated"],
    "rca": ["rca", "rca_translation"],
    "quality_regressor": ["quality_regressor", "quality_regressor_ridge10"],
}
TIE = 0.005


def choose(table: pd.DataFrame) -> dict[str, str]:
    """``table``: one row per probe with ``lr_err`` and ``seconds``; the rule's pick per estimator."""
    picks = {}
    for estimator, names in SETTINGS.items():
        t = table.loc[[n for n in names if n in table.index]]
        if t.empty:
            continue
        near = t[t["lr_err"] <= t["lr_err"].min() + TIE]
        picks[estimator] = str(near["seconds"].idxmin())
    return picks


def main() -> None:
    est, _ = load(RUNS)
    scores = pool_scores(est)
    pooled = scores[(scores["bias"] == "all") & (scores["init"] == "all")].set_index("estimator")
    seconds = est.drop_duplicates(["run", "round", "estimator"]).groupby("estimator")["seconds"].mean()
    table = pooled[
        ["runs", "lr_err", "lr_err_lo", "lr_err_hi", "lr_err_vs_constant", "vs_constant_lo", "vs_constant_hi"]
    ]
    table = table.assign(seconds=seconds.reindex(table.index).fillna(0.0))
    picks = choose(table)
    lines = [
        "# Label-free estimators: settings chosen on the development cohort",
        "",
        "Produced by: `python sweeps/label_free_dev_report.py` from the raw runs in "
        "`docs/estimators/label_free/dev_runs/` (`experiment=estimator_dev_label_free`: cohort 1000, arm "
        "`masked_entropy`, strong bias, both starts, seeds 0-2). Rule (docs/plans/label_free_estimators.md, "
        f"before these runs): per estimator the lowest mean log weight-ratio error; within {TIE} of it, the "
        "cheaper setting. Development numbers only: they choose, they do not judge.",
        "",
        "| probe | runs | log w-ratio error [95 % CI] | minus the constant [95 % CI] | s / round |",
        "|---|---|---|---|---|",
    ]
    for name, r in table.iterrows():
        lines.append(
            f"| {name} | {int(r['runs'])} | {r['lr_err']:.3f} [{r['lr_err_lo']:.3f}, {r['lr_err_hi']:.3f}] "
            f"| {r['lr_err_vs_constant']:+.3f} [{r['vs_constant_lo']:+.3f}, {r['vs_constant_hi']:+.3f}] | {r['seconds']:.2f} |"
        )
    lines += ["", "**Chosen:** " + "; ".join(f"`{e}`: `{p}`" for e, p in picks.items()) + "."]
    # what each probe sees of the two groups, beside the truth: a gap an estimator misses cannot weight
    means = est.groupby(["estimator", "group"])[["estimate", "pool_dice"]].mean().unstack("group")
    lines += [
        "",
        "Mean estimate per group beside the pool truth (all rounds and runs; descriptive):",
        "",
        "| probe | estimate A | estimate B | pool Dice A | pool Dice B |",
        "|---|---|---|---|---|",
    ]
    for name, r in means.iterrows():
        lines.append(
            f"| {name} | {r[('estimate', 'A')]:.3f} | {r[('estimate', 'B')]:.3f} "
            f"| {r[('pool_dice', 'A')]:.3f} | {r[('pool_dice', 'B')]:.3f} |"
        )
    text = "\n".join(lines) + "\n"
    atomic_write_text(OUT, text)
    print(text)


if __name__ == "__main__":
    main()
