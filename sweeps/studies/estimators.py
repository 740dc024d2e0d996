"""The estimator benchmark (issue #7 C): how well does each group-performance estimator
track the test Dice it stands in for, and what does it cost?

    python benchmarks/estimator_benchmark.py collect logs/al/multiruns/estimator_benchmark \\
        --raw docs/estimators/runs/estimator_benchmark        # copy a sweep's raw per-run files
    python benchmarks/estimator_benchmark.py report docs/estimators/runs --out docs/estimators

``collect`` archives, per finished run, the small files every number rests on
(:func:`fair_seg_al.analysis.estimators.collect`: ``estimates.csv``, ``rounds.csv``,
``selections.csv``, the resolved ``.hydra/config.yaml``, ...), in the layout every report reads.
``report`` rebuilds ``docs/estimators/table.csv``, ``docs/estimators/table.md`` and the figures
from them alone, with the scores of :mod:`fair_seg_al.analysis.estimators` and the decision rule
of the plan of 2026-12-02 (docs/estimators.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from fair_seg_al.analysis.estimators import (
    BUDGET,
    IDEALS,
    collect,
    gaps,
    load,
    ordered,
    paired,
    pool_scores,
    summarise,
)
from fair_seg_al.utils.io import atomic_write_text


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("sweep", type=Path)
    c.add_argument("--raw", type=Path, required=True)
    r = sub.add_parser("report")
    r.add_argument("raw", type=Path)
    r.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.cmd == "collect":
        collect(args.sweep, args.raw)
    else:
        report(args.raw, args.out)


def pooled_rows(scores: pd.DataFrame, arm: str) -> pd.DataFrame:
    """An arm's rows with its cells pooled (``bias`` and ``init`` "all"), indexed by estimator."""
    return scores[(scores["arm"] == arm) & (scores["bias"] == "all") & (scores["init"] == "all")].set_index("estimator")


DECISION_ARM = "masked_entropy"  # the arm a weighted rule runs in (plan of 2026-12-02)


def pool_decision(scores: pd.DataFrame, costs: pd.DataFrame, arm: str = DECISION_ARM) -> list[str]:
    """The plan's decision rule, applied mechanically to the arm's pooled rows: the estimator with
    the lowest log weight-ratio error; those not resolved worse than it (paired per-run t-interval
    includes 0) are preferred by fewer labels kept out of training, then fewer seconds per round;
    if the chosen one is not resolved better than the constant guess, the decision is "no estimator"."""
    from fair_seg_al.analysis.stats import t_interval

    pooled = pooled_rows(scores, arm)
    real = [e for e in pooled.index if e not in ("oracle", "constant (reference)", *IDEALS)]
    if not real:
        return [f"No pooled rows for arm `{arm}`: no decision."]
    best = min(real, key=lambda e: pooled.loc[e, "lr_err"])
    cost = costs[costs["arm"] == arm].groupby("estimator")[["extra_labels_final", "seconds_per_round"]].mean()
    lines = [
        f"#### Decision (arm `{arm}`, its cells pooled; rule of the plan of 2026-12-02)",
        "",
        f"Lowest log weight-ratio error: `{best}` ({pooled.loc[best, 'lr_err']:.3f}).",
        "",
        "| estimator | minus the lowest, per run [95 % t-interval] | resolved worse? | labels kept out (final) | s / round |",
        "|---|---|---|---|---|",
    ]
    tied = []
    for e in real:
        a, b = pd.Series(pooled.loc[e, "per_run_lr_err"]), pd.Series(pooled.loc[best, "per_run_lr_err"])
        d = (a - b.reindex(a.index)).dropna().to_numpy()
        lo, hi, _ = t_interval(d) if e != best else (0.0, 0.0, 1.0)
        worse = e != best and lo > 0
        if not worse:
            tied.append(e)
        lab, sec = (
            (cost.loc[e, "extra_labels_final"], cost.loc[e, "seconds_per_round"])
            if e in cost.index
            else (np.nan, np.nan)
        )
        lines.append(
            f"| {e} | {float(np.mean(d)) if len(d) else 0.0:+.3f} [{lo:+.3f}, {hi:+.3f}] | {'yes' if worse else 'no'} "
            f"| {_num(lab, '.1f')} | {_num(sec, '.2f')} |"
        )
    chosen = min(
        tied,
        key=lambda e: (
            (cost.loc[e, "extra_labels_final"], cost.loc[e, "seconds_per_round"])
            if e in cost.index
            else (np.inf, np.inf)
        ),
    )
    vs = pooled.loc[chosen]
    informative = vs["vs_constant_hi"] < 0
    lines += [
        "",
        f"Not resolved worse than `{best}`: {', '.join(f'`{e}`' for e in tied)}; the cheapest of them (labels, then "
        f"seconds): `{chosen}`. Against the constant guess: {_fmt_ci(vs['lr_err_vs_constant'], vs['vs_constant_lo'], vs['vs_constant_hi'])}, "
        + (
            f"resolved better: **the decision is `{chosen}`**."
            if informative
            else 'not resolved better: **the decision is "no estimator"** (the recommendation stays a composition rule).'
        ),
        "",
    ]
    return lines


LABEL_FREE = ("agreement", "rca", "quality_regressor")  #: the label-free estimators (issue 34)
LABEL_BASED = ("train", "prequential")  #: the cheap label-based references of the label-free plan
PLANNED_RUNS = {"masked_entropy": 72, "random": 40}  #: runs per arm in docs/plans/label_free_estimators.md
PLANNED_TESTS = 12  #: its one Holm family: 2 arms x 3 label-free estimators x (constant, label-based reference)
CONSTANT = "constant (reference)"


def _per_run(pooled: pd.DataFrame, name: str) -> pd.Series:
    return pd.Series(pooled.loc[name, "per_run_lr_err"], dtype=float)


def label_free_family(scores: pd.DataFrame, costs: pd.DataFrame) -> pd.DataFrame:
    """The label-free plan's one Holm family: in each arm (its cells pooled), each label-free
    estimator's per-run log weight-ratio error minus the constant guess's, and minus the
    label-based reference's (the better of ``train`` and ``prequential`` in that arm, by pooled
    error); paired t over runs, Holm over every test present. Empty without label-free rows."""
    from fair_seg_al.analysis.stats import holm, t_interval

    rows = []
    for arm in sorted(scores["arm"].unique()):
        pooled = pooled_rows(scores, arm)
        present = [e for e in LABEL_FREE if e in pooled.index]
        refs = [e for e in LABEL_BASED if e in pooled.index]
        if not present or not refs:
            continue
        reference = min(refs, key=lambda e: pooled.loc[e, "lr_err"])
        seconds = costs[(costs["arm"] == arm) & (costs["bias"] == "all") & (costs["init"] == "all")]
        seconds = seconds[seconds["rule"] == "shrink"].set_index("estimator")["seconds_per_round"]
        for name in present:
            for against in (CONSTANT, reference):
                d = (_per_run(pooled, name) - _per_run(pooled, against)).dropna()
                lo, hi, p = t_interval(d.to_numpy())
                rows.append(
                    {
                        "arm": arm,
                        "estimator": name,
                        "against": against,
                        "runs": len(d),
                        "planned_runs": PLANNED_RUNS.get(arm, np.nan),
                        "lr_err": float(pooled.loc[name, "lr_err"]),
                        "diff": float(d.mean()),
                        "ci_low": lo,
                        "ci_high": hi,
                        "p": p,
                        "seconds_per_round": float(seconds.get(name, np.nan)),
                    }
                )
    family = pd.DataFrame(rows)
    if family.empty:
        return family
    family["p_holm"] = holm(family["p"].to_numpy())
    resolved = family["p_holm"] < 0.05
    family["verdict"] = np.where(
        resolved & (family["diff"] < 0), "resolved better", np.where(resolved, "resolved worse", "unresolved")
    )
    return family


def group_means(est: pd.DataFrame, names) -> pd.DataFrame:
    """Per arm x estimator: the mean estimate of each group and the mean pool Dice it stands in for
    (every run and round with a pool truth, equally weighted), and the gaps A - B of both."""
    e = est[est["estimator"].isin(names) & est["pool_dice"].notna()]
    m = e.groupby(["arm", "estimator", "group"])[["estimate", "pool_dice"]].mean().unstack("group")
    out = pd.DataFrame(
        {
            "estimate_A": m[("estimate", "A")],
            "estimate_B": m[("estimate", "B")],
            "pool_A": m[("pool_dice", "A")],
            "pool_B": m[("pool_dice", "B")],
        }
    )
    out["estimated_gap"], out["pool_gap"] = out["estimate_A"] - out["estimate_B"], out["pool_A"] - out["pool_B"]
    return out.reset_index()


def group_means_markdown(est: pd.DataFrame, family: pd.DataFrame) -> list[str]:
    refs = family.loc[family["against"] != CONSTANT, "against"].unique().tolist()
    t = group_means(est, [*LABEL_FREE, *refs])
    lines = [
        "What each estimate sees (descriptive): mean estimate per group against the mean pool Dice, every run "
        "and round of the arm:",
        "",
        "| arm | estimator | estimate A / B | pool Dice A / B | estimated gap A - B | pool gap A - B |",
        "|---|---|---|---|---|---|",
    ]
    for _, r in t.iterrows():
        lines.append(
            f"| {r['arm']} | `{r['estimator']}` | {r['estimate_A']:.3f} / {r['estimate_B']:.3f} "
            f"| {r['pool_A']:.3f} / {r['pool_B']:.3f} | {r['estimated_gap']:+.3f} | {r['pool_gap']:+.3f} |"
        )
    return lines


def label_free_markdown(
    family: pd.DataFrame,
    scores: pd.DataFrame,
    est: pd.DataFrame | None = None,
    train_seconds: dict | None = None,
    arm: str = DECISION_ARM,
) -> list[str]:
    """The family's table, the scale's ends (constant, label-based reference, simulated ceiling),
    with ``est`` what each estimate sees per group, and the plan's decision: does any label-free
    estimator beat the constant in the decision arm?"""
    runs = family.groupby("arm")["runs"].min().reindex([*PLANNED_RUNS, *sorted(set(family["arm"]) - set(PLANNED_RUNS))])
    runs = runs.fillna(0).astype(int)
    # complete: exactly the planned runs in every planned arm, no other arm, and the whole family
    complete = (
        all(runs[a] == PLANNED_RUNS.get(a, -1) for a in runs.index)
        and (family.groupby("arm")["runs"].nunique() == 1).all()
        and len(family) == PLANNED_TESTS
    )
    status = ", ".join(
        f"`{a}` {runs[a]} of {PLANNED_RUNS[a]} runs" if a in PLANNED_RUNS else f"`{a}` {runs[a]} runs (not planned)"
        for a in runs.index
    )
    lines = [
        "#### Label-free estimators: the planned family (plan: docs/plans/label_free_estimators.md)",
        "",
        ("All planned runs are in" if complete else "**INCOMPLETE: an interim look, not a verdict**") + f" ({status}).",
        "",
        "Per-run log weight-ratio error against the pool truth, each arm's cells pooled; difference paired per "
        "run (negative: the label-free estimator is better), 95 % t-interval, Holm over the "
        f"{len(family)} tests below.",
        "",
        "| arm | estimator | error | minus | difference [95 % t-interval] | Holm p | verdict | s / round |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, r in family.iterrows():
        lines.append(
            f"| {r['arm']} | `{r['estimator']}` | {r['lr_err']:.3f} | {r['against']} "
            f"| {r['diff']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}] | {r['p_holm']:.2g} | {r['verdict']} "
            f"| {_num(r['seconds_per_round'], '.2f')} |"
        )
    if train_seconds:
        lines += [
            "",
            "s / round: the estimator's own seconds per round, one thread; a round's training took "
            + ", ".join(f"{v:.0f} s in `{a}`" for a, v in train_seconds.items())
            + " on the same jobs.",
        ]
    lines += ["", "The scale's ends in each arm (pooled; not in the family, paired per run against the constant):", ""]
    lines += ["| arm | row | error [95 % t-interval] | minus the constant |", "|---|---|---|---|"]
    ends = [CONSTANT, "oracle", *IDEALS]
    for a in family["arm"].unique():
        pooled = pooled_rows(scores, a).reset_index()
        reference = family[(family["arm"] == a) & (family["against"] != CONSTANT)]["against"].iloc[0]
        for _, r in pooled[pooled["estimator"].isin([reference, *ends])].iterrows():
            name = f"`{r['estimator']}` (label-based reference)" if r["estimator"] == reference else r["estimator"]
            lines.append(
                f"| {a} | {name} | {r['lr_err']:.3f} [{r['lr_err_lo']:.3f}, {r['lr_err_hi']:.3f}] "
                f"| {'-' if r['estimator'] == CONSTANT else _fmt_ci(r['lr_err_vs_constant'], r['vs_constant_lo'], r['vs_constant_hi'])} |"
            )
    if est is not None:
        lines += ["", *group_means_markdown(est, family)]
    better = family[(family["arm"] == arm) & (family["against"] == CONSTANT) & (family["verdict"] == "resolved better")]
    lines += [""]
    if not complete:  # an interim look never states the decision
        lines.append(f"No decision before the plan's {PLANNED_TESTS} tests have all their planned runs.")
    elif len(better):
        lines.append(
            f"**Resolved better than the constant in the decision arm `{arm}` after Holm: "
            + ", ".join(f"`{e}`" for e in better["estimator"])
            + ".** The plan's next condition is the minority rerun's oracle control against `composition_control`."
        )
    else:
        lines.append(
            f"**No label-free estimator is resolved better than the constant in the decision arm `{arm}` after Holm**: "
            "the plan's first condition failed; no estimator-driven rule follows from this benchmark."
        )
    return [*lines, ""]


def pool_markdown(t: pd.DataFrame) -> list[str]:
    lines = [
        "#### Against the pool truth (every unlabeled image; plan of 2026-12-02)",
        "",
        "Per-run means, [95 % t-interval over runs]. `vs constant`: paired per run, negative = better than "
        "the constant guess. `right side (clear)`: among points whose pool gap exceeds 2 standard errors. "
        "`oracle` is the test set (20 per group) used as an estimate: the best any estimator of the test Dice "
        "could do; `constant (reference)` knows no model.",
        "",
    ]
    for (arm, bias, init), d in t.groupby(["arm", "bias", "init"], sort=False):
        lines += [
            f"##### arm `{arm}`, bias `{bias}`, init `{init}`",
            "",
            "| estimator | runs | log w-ratio error | vs constant | batch composition error (B images of "
            f"{BUDGET}) | right side (clear points) |",
            "|---|---|---|---|---|---|",
        ]
        for _, r in d.iterrows():
            lines.append(
                f"| {r['estimator']} | {r['runs']} | {r['lr_err']:.3f} [{r['lr_err_lo']:.3f}, {r['lr_err_hi']:.3f}] "
                f"| {_fmt_ci(r['lr_err_vs_constant'], r['vs_constant_lo'], r['vs_constant_hi'])} "
                f"| {r['comp_err']:.2f} [{r['comp_err_lo']:.2f}, {r['comp_err_hi']:.2f}] "
                f"| {_pct(r['right_side_clear'])} ({r['clear_points']}) |"
            )
        lines.append("")
    return lines


def _num(x, fmt: str) -> str:
    return "-" if x is None or pd.isna(x) else format(x, fmt)


def _pct(x) -> str:
    return "-" if pd.isna(x) else f"{x:.0%}"


def _fmt_ci(m, lo, hi) -> str:
    if pd.isna(m):
        return "-"
    return f"{m:+.3f} [{lo:+.3f}, {hi:+.3f}]" if not pd.isna(lo) else f"{m:+.3f}"


def markdown(table: pd.DataFrame) -> str:
    lines = []
    for arm in table["arm"].unique():
        for (bias, init), t in table[table["arm"] == arm].groupby(["bias", "init"], sort=False):
            lines += [
                f"#### arm `{arm}`, bias `{bias}`, init `{init}`",
                "",
                "| estimator | rule | points | unmeasured | right side of 1 | right side, balanced (neg. points) "
                "| log w-ratio error [95 % CI] | corr(est gap, test gap) | gap MAE "
                "| bias A [95 % CI] | bias B [95 % CI] | images A / B | s / round | extra labels (final) |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            ]
            for _, r in t.iterrows():
                lines.append(
                    f"| {r['estimator']} | {r['rule']} | {r['points']} | {r['unmeasured_points']} "
                    f"| {r['right_side']:.0%} | {_pct(r['right_side_balanced'])} ({r['negative_gap_points']}) "
                    f"| {r['logratio_mae']:.3f} [{r['logratio_mae_lo']:.3f}, {r['logratio_mae_hi']:.3f}] "
                    f"| {_num(r['gap_corr'], '.2f')} | {_num(r['gap_mae'], '.3f')} "
                    f"| {_fmt_ci(r.get('bias_A', np.nan), r.get('bias_A_lo', np.nan), r.get('bias_A_hi', np.nan))} "
                    f"| {_fmt_ci(r.get('bias_B', np.nan), r.get('bias_B_lo', np.nan), r.get('bias_B_hi', np.nan))} "
                    f"| {_num(r.get('n_images_A'), '.1f')} / {_num(r.get('n_images_B'), '.1f')} "
                    f"| {r['seconds_per_round']:.2f} | {r['extra_labels_final']:.1f} |"
                )
            lines.append("")
    return "\n".join(lines)


def figures(est: pd.DataFrame, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for arm in est["arm"].unique():
        g = gaps(est[est["arm"] == arm], "estimate")
        names = ordered(g["estimator"])
        ncol = min(3, len(names))
        nrow = -(-len(names) // ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 3.3 * nrow), sharex=True, sharey=True, squeeze=False)
        for ax in axes.flat[len(names) :]:
            ax.set_visible(False)
        for ax, name in zip(axes.flat, names, strict=False):
            for (bias, init), d in g[g["estimator"] == name].groupby(["bias", "init"]):
                ax.scatter(d["test_gap"], d["est_gap"], s=9, alpha=0.7, label=f"{bias}/{init}")
            lim = [g["test_gap"].min() - 0.02, g["test_gap"].max() + 0.02]
            ax.plot(lim, lim, "k--", lw=0.8)
            ax.axhline(0, color="grey", lw=0.5)
            ax.axvline(0, color="grey", lw=0.5)
            ax.set_title(name)
            ax.set_xlabel("test gap Dice A - B")
        for ax in axes[:, 0]:
            ax.set_ylabel("estimated gap A - B")
        axes.flat[0].legend(fontsize=7)
        fig.suptitle(f"Estimated vs true group gap, every seed x round ({arm} trajectories)")
        fig.tight_layout()
        fig.savefig(out / f"gap_scatter_{arm}.png", dpi=110)
        plt.close(fig)


def bias_figure(table: pd.DataFrame, out: Path) -> None:
    """Per estimator, the bias (estimate - test Dice) of each group with its 95 % interval, per cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = table[(table["rule"] == "shrink") & (table["init"] != "all") & (table["estimator"] != "oracle")]
    for arm, ta in t.groupby("arm"):
        cells = list(dict.fromkeys(zip(ta["bias"], ta["init"], strict=True)))
        fig, axes = plt.subplots(1, len(cells), figsize=(3.8 * len(cells), 3.4), sharey=True, squeeze=False)
        for ax, (bias, init) in zip(axes.flat, cells, strict=True):
            d = ta[(ta["bias"] == bias) & (ta["init"] == init)]
            x = np.arange(len(d))
            for k, (grp, color) in enumerate((("A", "tab:blue"), ("B", "tab:red"))):
                m = d[f"bias_{grp}"].to_numpy()
                err = np.vstack([m - d[f"bias_{grp}_lo"].to_numpy(), d[f"bias_{grp}_hi"].to_numpy() - m])
                ax.errorbar(x + (k - 0.5) * 0.25, m, yerr=err, fmt="o", color=color, ms=4, label=f"group {grp}")
            ax.axhline(0, color="k", lw=0.8)
            ax.set_xticks(x, d["estimator"], rotation=45, ha="right")
            ax.set_title(f"{bias} / {init}")
        axes.flat[0].set_ylabel("estimate - test Dice")
        axes.flat[0].legend(fontsize=7)
        fig.suptitle(f"Bias of each estimator ({arm} trajectories)")
        fig.tight_layout()
        fig.savefig(out / f"bias_{arm}.png", dpi=110)
        plt.close(fig)


def cost_fragment(table: pd.DataFrame, rounds: pd.DataFrame, raw: Path, out: Path) -> str:
    """The cost table for docs/benchmarks.md: seconds per round and extra labels per estimator."""
    import platform

    import torch

    t = table[(table["bias"] == "all") & (table["rule"] == "shrink") & (table["arm"] == "random")]
    r = rounds[rounds["arm"] == "random"]
    train_s = float(r["seconds_train"].mean())
    lines = [
        f"Machine: {platform.machine()}, {__import__('os').cpu_count()} cores, torch {torch.__version__}; two one-thread "
        f"jobs side by side (`num_threads=1`, joblib launcher); {r['run'].nunique()} runs of "
        "the random arm; command: "
        f"`python benchmarks/estimator_benchmark.py report {raw} --out {out}`",
        "",
        f"A round's training (250 steps, one thread) took {train_s:.1f} s on average in these runs. Seconds "
        "depend on the machine and on what else ran beside the jobs; the ratio to the same runs' training is the "
        "number to compare.",
        "",
        f"| estimator | seconds per round | x a round's training "
        f"| extra labels at the final budget (of {r.loc[r['round'] == r['round'].max(), 'n_labeled'].mean():.0f}) |",
        "|---|---|---|---|",
    ]
    for _, x in t.iterrows():
        lines.append(
            f"| {x['estimator']} | {x['seconds_per_round']:.2f} | {x['seconds_per_round'] / train_s:.2f} "
            f"| {x['extra_labels_final']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def paired_markdown(pairs: pd.DataFrame, out: Path) -> list[str]:
    """The table paired against ``holdout``, written to ``paired.csv`` too; runs without a
    ``holdout`` probe (the label-free benchmark) get a sentence and no CSV."""
    title = "#### Paired: log weight-ratio error minus holdout's, per run (negative: better than holdout)"
    if pairs.empty:
        (out / "paired.csv").unlink(missing_ok=True)
        return [title, "", "No `holdout` probe in these runs, so nothing is paired against it."]
    atomic_write_text(out / "paired.csv", pairs.to_csv(index=False, float_format="%.4f"))
    return [
        title,
        "",
        "| arm | estimator | runs | mean difference [95 % CI] | runs better than holdout |",
        "|---|---|---|---|---|",
    ] + [
        f"| {r['arm']} | {r['estimator']} | {r['runs']} | {r['logratio_err_diff']:+.3f} [{r['lo']:+.3f}, {r['hi']:+.3f}] "
        f"| {r['runs_better']} of {r['runs']} |"
        for _, r in pairs.iterrows()
    ]


def report(raw: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    est, rounds = load(raw)
    table = summarise(est, rounds)
    atomic_write_text(out / "cost.md", cost_fragment(table, rounds, raw, out))
    atomic_write_text(out / "table.csv", table.to_csv(index=False, float_format="%.4f"))
    atomic_write_text(
        out / "table.md",
        f"<!-- written by: python benchmarks/estimator_benchmark.py report {raw} --out {out} -->\n\n"
        + markdown(table)
        + "\n"
        + "\n".join(paired_markdown(paired(est), out))
        + "\n",
    )
    if "pool_dice" in est and est["pool_dice"].notna().any():  # runs made since the re-scoring plan
        scores = pool_scores(est, rounds)
        atomic_write_text(
            out / "table_pool.csv", scores.drop(columns="per_run_lr_err").to_csv(index=False, float_format="%.4f")
        )
        decision = pool_decision(scores, table) if DECISION_ARM in set(scores["arm"]) else []
        family = label_free_family(scores, table)
        if len(family):  # the label-free benchmark: its plan's family and decision replace the older rule's
            atomic_write_text(out / "label_free_family.csv", family.to_csv(index=False, float_format="%.6g"))
            train_seconds = rounds.groupby("arm")["seconds_train"].mean().to_dict()
            decision = label_free_markdown(family, scores, est, train_seconds)
        atomic_write_text(
            out / "table_pool.md",
            f"<!-- written by: python benchmarks/estimator_benchmark.py report {raw} --out {out} -->\n\n"
            + "\n".join(decision + pool_markdown(scores)),
        )
    figures(est, out)
    bias_figure(table, out)
    print(f"wrote {out / 'table.md'} ({est['run'].nunique()} runs)")


if __name__ == "__main__":
    main()
