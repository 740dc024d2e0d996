"""Paired, per-seed comparisons of strategies against references (entropy, random).

Runs of one bias x init cell that differ only in strategy share their seed's initial set,
cohort and test set, so each strategy is compared with a reference seed by seed. Per
metric: the mean paired difference (strategy minus reference), its 95 % bootstrap CI over
seeds: the paired t-interval (primary) and the percentile bootstrap, Wilcoxon and sign
tests, the paired SD and the seeds needed to resolve a given difference at 80 % power. A
difference whose t-interval excludes 0 is *resolved* (better or worse); otherwise it is
*unresolved*, with its interval. These tables are exploratory (no multiplicity control); a
planned family of questions is Holm-adjusted where it is answered (the verdicts).

Where the runs recorded them, the boundary metric's columns sit beside Dice's: NSD disparity
and worst-group NSD, final and AUC.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from fair_seg_al.analysis.stats import area_under_curve, paired_summary, reduction_ci, seeds_needed
from fair_seg_al.metrics import groups_in_columns

#: metric -> which direction is better for the strategy ("lower" or "higher")
PAIRED_METRICS = {
    "disparity": "lower",
    "gap": "closer to 0",
    "worst_dice": "higher",
    "es_dice": "higher",
    "auc_disparity": "lower",
    "auc_gap": "closer to 0",
    "auc_worst_dice": "higher",
    "auc_es_dice": "higher",
    "nsd_disparity": "lower",
    "worst_nsd": "higher",
    "auc_nsd_disparity": "lower",
    "auc_worst_nsd": "higher",
    "acquired_share": "descriptive",
}
#: the columns of the report's paired tables (all metrics are in paired.csv)
SHOWN = ["disparity", "gap", "worst_dice", "es_dice", "auc_es_dice", "nsd_disparity", "worst_nsd"]
REFERENCES = ("entropy", "random")


def run_metrics(summary: pd.DataFrame, complete: set[str], at: Sequence[int] = ()) -> pd.DataFrame:
    """One row per complete run: final-budget metrics and their areas under the budget curve;
    for each labelled-set size ``n`` in ``at``, the metric ``m`` at that round as ``m_at_n`` (NaN
    for a run that never had ``n`` labelled images).

    ``gap`` is Dice of the first group minus the second (two-group cohorts; NaN otherwise),
    ``worst_dice`` the lowest group Dice, ``acquired_share`` the second group's share of the
    images acquired after the initial set (group B of the synthetic cohort; two groups only).
    """
    df = summary[summary["run_dir"].isin(complete)]
    groups = groups_in_columns(df.columns)
    rows = []
    for run_dir, d in df.groupby("run_dir"):
        d = d.sort_values("n_labeled")
        dice = d[[f"dice_{g}" for g in groups]].to_numpy(float)
        series = {
            "disparity": d["dice_disparity"].to_numpy(float),
            "gap": dice[:, 0] - dice[:, 1] if len(groups) == 2 else np.full(len(d), np.nan),
            "worst_dice": dice.min(axis=1),
            "es_dice": d["es_dice"].to_numpy(float),
        }
        if all(f"nsd_{g}" in d for g in groups):  # runs that recorded the boundary metric
            nsd = d[[f"nsd_{g}" for g in groups]].to_numpy(float)
            series["nsd_disparity"] = d["nsd_disparity"].to_numpy(float)
            series["worst_nsd"] = nsd.min(axis=1)
        x = d["n_labeled"].to_numpy(float)
        row = {k: d[k].iloc[0] for k in ("bias", "init", "strategy", "seed")} | {"run_dir": run_dir}
        for m in ("nsd_disparity", "worst_nsd"):
            row[m] = row[f"auc_{m}"] = np.nan  # filled below where recorded
            row |= {f"{m}_at_{n}": np.nan for n in at}
        for m, y in series.items():
            row[m] = float(y[-1])
            row[f"auc_{m}"] = area_under_curve(x, y)
            for n in at:
                hit = np.flatnonzero(x == n)
                row[f"{m}_at_{n}"] = float(y[hit[0]]) if hit.size else np.nan
        row["acquired_share"] = np.nan
        if len(groups) == 2 and f"n_labeled_{groups[1]}" in d and x[-1] > x[0]:
            got = d[f"n_labeled_{groups[1]}"].to_numpy(float)
            row["acquired_share"] = (got[-1] - got[0]) / (x[-1] - x[0])
        rows.append(row)
    return pd.DataFrame(rows)


def paired_difference(metrics: pd.DataFrame, a: str, b: str, metric: str):
    """Paired summary of strategy ``a`` minus ``b`` on ``metric`` over the seeds both ran, and those
    seeds; ``(None, [])`` if they share none or the metric was not recorded."""
    if metric not in metrics:
        return None, []
    pa, pb = (metrics[metrics["strategy"] == s].set_index("seed")[metric] for s in (a, b))
    seeds = sorted(set(pa.index) & set(pb.index))
    if not seeds or pa.loc[seeds].isna().all():
        return None, []
    return paired_summary(pa.loc[seeds].to_numpy() - pb.loc[seeds].to_numpy()), seeds


def paired_table(metrics: pd.DataFrame, references: Sequence[str] = REFERENCES, delta: float = 0.02) -> pd.DataFrame:
    """Per cell x reference x strategy x metric: the paired summary over shared seeds."""
    rows = []
    for (bias, init), cell in metrics.groupby(["bias", "init"], sort=False):
        for ref in references:
            base = cell[cell["strategy"] == ref].set_index("seed")
            if base.empty:
                continue
            for strategy, other in cell[cell["strategy"] != ref].groupby("strategy", sort=False):
                other = other.set_index("seed")
                seeds = sorted(set(base.index) & set(other.index))
                if not seeds:
                    continue
                for m in PAIRED_METRICS:
                    diff = other.loc[seeds, m].to_numpy(float) - base.loc[seeds, m].to_numpy(float)
                    if np.all(np.isnan(diff)):
                        continue
                    p = paired_summary(diff)
                    row = {
                        "bias": bias,
                        "init": init,
                        "strategy": strategy,
                        "reference": ref,
                        "metric": m,
                        "better": PAIRED_METRICS[m],
                        "seeds": p.n,
                        "mean_diff": p.mean,
                        "ci_low": p.ci_low,
                        "ci_high": p.ci_high,
                        "resolved": p.resolved,
                        "t_p": p.t_p,
                        "boot_low": p.boot_low,
                        "boot_high": p.boot_high,
                        "wilcoxon_p": p.wilcoxon_p,
                        "sign_p": p.sign_p,
                        "n_positive": p.n_positive,
                        "n_negative": p.n_negative,
                        "paired_sd": p.sd,
                        f"seeds_for_{delta:g}": seeds_needed(p.sd, delta) if p.n > 1 else np.nan,
                    }
                    if m == "disparity":
                        red, lo, hi = reduction_ci(base.loc[seeds, m], other.loc[seeds, m])
                        row |= {"reduction": red, "reduction_low": lo, "reduction_high": hi}
                    rows.append(row)
    return pd.DataFrame(rows)


def paired_markdown(table: pd.DataFrame, delta: float = 0.02) -> list[str]:
    """The report's section: one table per cell and reference; 'resolved' or 'within noise'."""
    if table.empty:
        return ["## Paired comparisons", "", "No cell has a reference strategy (entropy or random).", ""]
    lines = [
        "## Paired comparisons (per seed, strategy minus reference; exploratory)",
        "",
        "Each entry: mean paired difference over the seeds both strategies ran, [95 % paired t-interval], "
        "Wilcoxon p. **Bold**: resolved (the interval excludes 0); plain: unresolved. No multiplicity "
        "control here: these tables are exploratory; `paired.csv` also has the percentile bootstrap "
        "interval (`boot_low`, `boot_high`). NSD columns: `-` where the runs did not record it. "
        f"Disparity (max - min group Dice, final budget) is better lower; gap = Dice A - Dice B; worst = "
        f"lowest group Dice; AUC = mean over the budget. `n for {delta:g}`: paired seeds needed to resolve "
        f"a final-disparity difference of {delta:g} at 80 % power, from this paired SD.",
        "",
    ]
    sd_col = f"seeds_for_{delta:g}"
    shown = [m for m in SHOWN if m in set(table["metric"])]  # NSD only where the runs recorded it
    for (bias, init, ref), t in table.groupby(["bias", "init", "reference"], sort=False):
        lines += [f"### bias={bias}, init={init}: against `{ref}`", ""]
        head = ["strategy", "seeds"] + shown + ["disparity reduction [CI]", "paired SD (disparity)", f"n for {delta:g}"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for strategy, d in t.groupby("strategy", sort=False):
            d = d.set_index("metric")
            cells = [strategy, str(int(d["seeds"].max()))]
            for m in shown:
                if m not in d.index:
                    cells.append("-")
                    continue
                r = d.loc[m]
                text = f"{r['mean_diff']:+.3f} [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}] p={r['wilcoxon_p']:.2g}"
                cells.append(f"**{text}**" if r["resolved"] else text)
            dis = d.loc["disparity"] if "disparity" in d.index else None
            if dis is not None and not np.isnan(dis.get("reduction", np.nan)):
                cells.append(
                    f"{100 * dis['reduction']:+.0f} % [{100 * dis['reduction_low']:+.0f}, {100 * dis['reduction_high']:+.0f}]"
                )
            else:
                cells.append("-")
            cells.append("-" if dis is None else f"{dis['paired_sd']:.3f}")
            cells.append("-" if dis is None or np.isnan(dis[sd_col]) else str(int(dis[sd_col])))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def paired_figure(table: pd.DataFrame, out: Path, reference: str = "entropy") -> Path | None:
    """Forest plot: per cell, each strategy's paired difference against ``reference`` with its CI,
    for final disparity and final ES-Dice."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = table[(table["reference"] == reference) & table["metric"].isin(["disparity", "es_dice"])]
    if t.empty:
        return None
    cells = list(dict.fromkeys(zip(t["bias"], t["init"], strict=True)))
    fig, axes = plt.subplots(2, len(cells), figsize=(4.2 * len(cells), 6.0), squeeze=False, sharey="row")
    for j, (bias, init) in enumerate(cells):
        for i, m in enumerate(["disparity", "es_dice"]):
            ax = axes[i][j]
            d = t[(t["bias"] == bias) & (t["init"] == init) & (t["metric"] == m)]
            y = np.arange(len(d))
            err = np.vstack([d["mean_diff"] - d["ci_low"], d["ci_high"] - d["mean_diff"]])
            colors = ["tab:red" if ok else "tab:gray" for ok in d["resolved"]]
            ax.errorbar(d["mean_diff"], y, xerr=err, fmt="none", ecolor=colors)
            ax.scatter(d["mean_diff"], y, c=colors, zorder=3)
            ax.axvline(0, color="k", lw=0.8)
            ax.set_yticks(y, d["strategy"])
            ax.set_title(f"{bias}/{init}: {m}", fontsize=9)
            ax.set_xlabel(f"minus {reference} (95 % paired t-interval)", fontsize=8)
    fig.suptitle(f"Paired differences against {reference} (red: resolved; grey: unresolved)")
    fig.tight_layout()
    path = out / "paired_differences.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
