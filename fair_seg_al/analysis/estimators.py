"""The estimator benchmark (issue #7 C): how well does each group-performance estimator
track the test Dice it stands in for, and what does it cost?

    python benchmarks/estimator_benchmark.py collect logs/al/multiruns/estimator_benchmark \\
        --raw docs/estimators/runs/estimator_benchmark        # copy a sweep's raw per-run files
    python benchmarks/estimator_benchmark.py report docs/estimators/runs --out docs/estimators

``collect`` archives, per finished run, the small files every number rests on
(:mod:`fair_seg_al.analysis.archive`: ``estimates.csv``, ``rounds.csv``, ``selections.csv``, the
resolved ``.hydra/config.yaml``, ...), in the layout every report reads. ``report`` rebuilds
``docs/estimators/table.csv``, ``docs/estimators/table.md`` and the figures from them alone.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from fair_seg_al.analysis.archive import archive_sweep
from fair_seg_al.analysis.runs import ReportError, find_runs
from fair_seg_al.analysis.stats import bootstrap_ci
from fair_seg_al.config import strategy_label
from fair_seg_al.strategies.weights import group_weights

# 95 % percentile bootstrap over runs (points within a run are not independent)
run_ci = partial(bootstrap_ci, n_boot=2000, seed=0)


def run_name(run: Path) -> str:
    """An archived run's folder name: the run's own keys (a sweep's folder names carry job numbers)."""
    cfg = OmegaConf.load(run / ".hydra" / "config.yaml")
    return f"{strategy_label(cfg.strategy)}-{cfg.bias.name}-{cfg.init.name}-seed{cfg.seed}"


def collect(sweep: Path, raw: Path) -> int:
    """Archive each finished run's raw files into ``raw/<run name>/`` (:func:`archive_sweep`); return how many."""
    result = archive_sweep(sweep, raw, folder_name=run_name)
    for run, why in result.skipped.items():
        print(f"skipping {run}: {why}", file=sys.stderr)
    print(f"collected {len(result.copied)} runs into {raw} ({len(result.unchanged)} unchanged)")
    return len(result.copied)


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


ORDER = ["train", "holdout", "prequential", "kfold", "kfold_scratch", "oracle"]


def ordered(names) -> list[str]:
    """Estimator names present, the known ones in :data:`ORDER` first."""
    present = set(names)
    return [n for n in ORDER if n in present] + sorted(present - set(ORDER))


def load(raw: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All runs' estimates (one row per run x round x estimator x group) and rounds."""
    est, rounds = [], []
    try:
        runs = find_runs([raw])
    except ReportError as err:
        raise SystemExit(str(err)) from None
    for run in runs:
        e = run.table("estimates.csv")
        if e is None or e.empty or run.rounds is None or run.selections is None:
            continue
        e = e.rename(columns={"raw": "raw_estimate"})  # runs made before 2026-12-04 say "raw"
        keys = {
            "arm": str(run.config.strategy.name),
            "bias": run.bias,
            "init": run.init,
            "seed": run.seed,
            "run": run.path.name,
        }
        sel, r = run.selections, run.rounds.copy()
        # labels the hold-out rule kept out of training by the end of each round (its cost)
        r["held_out_labels"] = [int((sel["held_out"] & (sel["round"] <= k)).sum()) for k in r["round"]]
        est.append(e.assign(**keys))
        rounds.append(r.assign(**keys))
    if not est:
        raise SystemExit(f"no estimates.csv under {raw}")
    return pd.concat(est, ignore_index=True), pd.concat(rounds, ignore_index=True)


def log_weight_ratio(d_a: float, d_b: float) -> float:
    """``log(w_B / w_A)`` of the default weights (``one_minus_dice``, floor 0.1) from Dice
    estimates: what the selection actually consumes (NaN estimates give the neutral weight)."""
    w = group_weights({"A": d_a, "B": d_b}, "one_minus_dice", floor=0.1)
    return float(np.log(w["B"] / w["A"]))


def gaps(est: pd.DataFrame, column: str) -> pd.DataFrame:
    """One row per run x round x estimator: estimated and true A-B gap, and the log weight
    ratio the estimates give against the one the test Dice would give (two-group cohorts)."""
    wide = est.pivot_table(
        index=["arm", "bias", "init", "seed", "run", "round", "estimator"],
        columns="group",
        values=[column, "test_dice"],
        dropna=False,
    )
    ea, eb = wide[(column, "A")], wide[(column, "B")]
    ta, tb = wide[("test_dice", "A")], wide[("test_dice", "B")]
    out = pd.DataFrame(
        {
            "est_gap": ea - eb,
            "test_gap": ta - tb,
            "est_lr": [log_weight_ratio(a, b) for a, b in zip(ea, eb, strict=True)],
            "test_lr": [log_weight_ratio(a, b) for a, b in zip(ta, tb, strict=True)],
        }
    ).reset_index()
    return out.dropna(subset=["test_gap"])


def in_cell(df: pd.DataFrame, bias: str, init: str) -> pd.DataFrame:
    """Rows of one bias x init cell; ``"all"`` pools over that key."""
    return df[((df["bias"] == bias) | (bias == "all")) & ((df["init"] == init) | (init == "all"))]


def cells_of(df: pd.DataFrame) -> list[tuple[str, str]]:
    """Everything pooled, each bias pooled over starts (when there are several biases), each cell."""
    cells = sorted({(b, i) for b, i in zip(df["bias"], df["init"], strict=True)})
    biases = sorted({b for b, _ in cells})
    return [("all", "all")] + ([(b, "all") for b in biases] if len(biases) > 1 else []) + cells


def summarise(est: pd.DataFrame, rounds: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for arm in sorted(est["arm"].unique()):
        est_arm, rounds_arm = est[est["arm"] == arm], rounds[rounds["arm"] == arm]
        for column, rule in (("estimate", "shrink"), ("raw_estimate", "raw")):
            g_all = gaps(est_arm, column)
            for bias, init in cells_of(est_arm):
                g, e, r = in_cell(g_all, bias, init), in_cell(est_arm, bias, init), in_cell(rounds_arm, bias, init)
                for name in ordered(g["estimator"]):
                    if rule == "raw" and name == "oracle":
                        continue
                    d = g[g["estimator"] == name]
                    ok = d.dropna(subset=["est_gap"])
                    right = ((d["est_gap"] > 0) == (d["test_gap"] > 0)) & (d["est_gap"] != 0) & d["est_gap"].notna()
                    pos = d["test_gap"] > 0
                    lr_err = (d["est_lr"] - d["test_lr"]).abs().groupby(d["run"]).mean()
                    lr_lo, lr_hi = run_ci(lr_err.to_numpy())
                    row = {
                        "arm": arm,
                        "bias": bias,
                        "init": init,
                        "estimator": name,
                        "rule": rule,
                        "points": len(d),
                        "unmeasured_points": int(d["est_gap"].isna().sum()),
                        "gap_corr": float(np.corrcoef(ok["est_gap"], ok["test_gap"])[0, 1]) if len(ok) > 2 else np.nan,
                        "right_side": float(right.mean()),
                        "right_side_balanced": 0.5 * (right[pos].mean() + right[~pos].mean())
                        if (~pos).any() and pos.any()
                        else np.nan,
                        "negative_gap_points": int((~pos).sum()),
                        "gap_mae": float((ok["est_gap"] - ok["test_gap"]).abs().mean()),
                        "logratio_mae": float(lr_err.mean()),
                        "logratio_mae_lo": lr_lo,
                        "logratio_mae_hi": lr_hi,
                    }
                    ee = e[e["estimator"] == name]
                    for grp in sorted(ee["group"].unique()):
                        eg = ee[ee["group"] == grp]
                        err = (eg[column] - eg["test_dice"]).groupby(eg["run"]).mean()
                        lo, hi = run_ci(err.to_numpy())
                        row[f"bias_{grp}"] = float(err.mean())
                        row[f"bias_{grp}_lo"], row[f"bias_{grp}_hi"] = lo, hi
                        row[f"n_images_{grp}"] = float(eg["n_images"].mean())
                    per_round = ee.drop_duplicates(["run", "round"])["seconds"]
                    seconds = float(per_round.mean())
                    if name == "prequential" and "seconds_observe" in r:
                        seconds += float(r["seconds_observe"].fillna(0).mean())  # its forward pass on each batch
                    row["seconds_per_round"] = seconds
                    row["extra_labels_final"] = (
                        float(r.loc[r["round"] == r["round"].max(), "held_out_labels"].mean())
                        if name == "holdout"
                        else 0.0
                    )
                    rows.append(row)
                if rule == "shrink":
                    rows.append(constant_reference(g[g["estimator"] == "oracle"], arm, bias, init))
    return pd.DataFrame(rows)


def constant_reference(truth: pd.DataFrame, arm: str, bias: str, init: str) -> dict:
    """A guess that knows no model: "B is worse" by the average true weight ratio.

    Its right-side share is the share of points whose true gap is positive, and its log-ratio
    error is the spread of the true ratio around its mean: an estimator has to beat both to
    carry information about the current model.
    """
    pos = truth["test_gap"] > 0
    lr_err = (truth["test_lr"] - truth["test_lr"].mean()).abs().groupby(truth["run"]).mean()
    lo, hi = run_ci(lr_err.to_numpy())
    return {
        "arm": arm,
        "bias": bias,
        "init": init,
        "estimator": "constant (reference)",
        "rule": "-",
        "points": len(truth),
        "unmeasured_points": 0,
        "gap_corr": np.nan,
        "right_side": float(pos.mean()),
        "right_side_balanced": 0.5 if pos.any() and (~pos).any() else np.nan,
        "negative_gap_points": int((~pos).sum()),
        "gap_mae": np.nan,
        "logratio_mae": float(lr_err.mean()),
        "logratio_mae_lo": lo,
        "logratio_mae_hi": hi,
        "seconds_per_round": 0.0,
        "extra_labels_final": 0.0,
    }


def paired(est: pd.DataFrame, reference: str = "holdout") -> pd.DataFrame:
    """Per arm and estimator: the per-run mean log weight-ratio error minus the reference
    estimator's on the same run (same models, same rounds), mean and 95 % bootstrap CI over runs."""
    rows = []
    for arm in sorted(est["arm"].unique()):
        g = gaps(est[est["arm"] == arm], "estimate")
        g["err"] = (g["est_lr"] - g["test_lr"]).abs()
        per_run = g.pivot_table(index=["bias", "init", "seed"], columns="estimator", values="err", aggfunc="mean")
        if reference not in per_run:
            continue
        for name in ordered(per_run.columns):
            if name in (reference, "oracle"):
                continue
            diff = (per_run[name] - per_run[reference]).dropna()
            lo, hi = run_ci(diff.to_numpy())
            rows.append(
                {
                    "arm": arm,
                    "estimator": name,
                    "reference": reference,
                    "runs": len(diff),
                    "logratio_err_diff": float(diff.mean()),
                    "lo": lo,
                    "hi": hi,
                    "runs_better": int((diff < 0).sum()),
                }
            )
    return pd.DataFrame(rows)


BUDGET = 10  #: a round's batch, for the composition error


def quota_b(lr: np.ndarray) -> np.ndarray:
    """Group B's images in a batch of ``BUDGET`` under quota composition, from ``log(w_B/w_A)``:
    ``BUDGET * w_B / (w_A + w_B)`` (the share before rounding to whole images)."""
    return BUDGET / (1.0 + np.exp(-np.asarray(lr, dtype=float)))


def pool_truth_gaps(est: pd.DataFrame) -> pd.DataFrame:
    """Per run x round x estimator: the estimated log weight ratio against the one the *pool* Dice
    gives (every unlabeled image, ``pool_dice``), the pool gap and its standard error."""
    wide = est.pivot_table(
        index=["arm", "bias", "init", "seed", "run", "round", "estimator"],
        columns="group",
        values=["estimate", "pool_dice", "pool_dice_se"],
        dropna=False,
    )
    ea, eb = wide[("estimate", "A")], wide[("estimate", "B")]
    pa, pb = wide[("pool_dice", "A")], wide[("pool_dice", "B")]
    out = pd.DataFrame(
        {
            "est_lr": [log_weight_ratio(a, b) for a, b in zip(ea, eb, strict=True)],
            "true_lr": [log_weight_ratio(a, b) for a, b in zip(pa, pb, strict=True)],
            "true_gap": pa - pb,
            "est_gap": ea - eb,
            "gap_se": np.sqrt(wide[("pool_dice_se", "A")] ** 2 + wide[("pool_dice_se", "B")] ** 2),
        }
    ).reset_index()
    return out.dropna(subset=["true_gap"])


def pool_scores(est: pd.DataFrame) -> pd.DataFrame:
    """The re-scored benchmark (plan of 2026-12-02): per arm x cell (and all cells) x estimator,
    against the pool truth: log weight-ratio error and quota batch-composition error (per-run
    means, 95 % t-interval over runs), paired against the constant guess per run, and the
    right-side share among points whose pool gap exceeds 2 standard errors.

    Two reference rows show where the scale's ends lie: ``constant (reference)``, "B is worse"
    by the mean true ratio of its cell, and ``oracle``, the 20-per-group *test-set* Dice, which
    a perfect test-set estimator could not beat (its error is the test set's own noise).
    """
    from fair_seg_al.analysis.stats import t_interval

    g_all = pool_truth_gaps(est[est["rule"] == "shrink"] if "rule" in est else est)
    rows = []
    for arm in sorted(g_all["arm"].unique()):
        ga = g_all[g_all["arm"] == arm]
        for bias, init in cells_of(ga):  # the arm's cells pooled first, then each cell
            g = in_cell(ga, bias, init)
            truth = g[g["estimator"] == "oracle"]
            const = truth.assign(estimator="constant (reference)")
            const["est_lr"] = const.groupby(["bias", "init"])["true_lr"].transform("mean")
            const["est_gap"] = np.sign(const.groupby(["bias", "init"])["true_gap"].transform("mean")) * 1e-9
            both = pd.concat([g, const], ignore_index=True)
            both["lr_err"] = (both["est_lr"] - both["true_lr"]).abs()
            both["comp_err"] = np.abs(quota_b(both["est_lr"]) - quota_b(both["true_lr"]))
            per_run = both.groupby(["estimator", "run"])[["lr_err", "comp_err"]].mean()
            base = per_run.loc["constant (reference)"]
            for name in [*ordered(g["estimator"]), "constant (reference)"]:
                d = both[both["estimator"] == name]
                runs = per_run.loc[name]
                clear = (d["true_gap"].abs() > 2 * d["gap_se"]) & d["gap_se"].notna()
                right = (np.sign(d["est_gap"]) == np.sign(d["true_gap"])) & (d["est_gap"] != 0)
                row = {"arm": arm, "bias": bias, "init": init, "estimator": name, "runs": len(runs), "points": len(d)}
                for m in ("lr_err", "comp_err"):
                    lo, hi, _ = t_interval(runs[m].to_numpy())
                    row |= {m: float(runs[m].mean()), f"{m}_lo": lo, f"{m}_hi": hi}
                diff = (runs["lr_err"] - base["lr_err"].reindex(runs.index)).dropna()
                lo, hi, p = t_interval(diff.to_numpy())
                row |= {"lr_err_vs_constant": float(diff.mean()), "vs_constant_lo": lo, "vs_constant_hi": hi}
                row["per_run_lr_err"] = runs["lr_err"].to_dict()  # for the paired decision (not written)
                row |= {
                    "clear_points": int(clear.sum()),
                    "right_side_clear": float(right[clear].mean()) if clear.any() else np.nan,
                }
                rows.append(row)
    return pd.DataFrame(rows)


DECISION_ARM = "masked_entropy"  # the arm a weighted rule runs in (plan of 2026-12-02)


def pool_decision(scores: pd.DataFrame, costs: pd.DataFrame, arm: str = DECISION_ARM) -> list[str]:
    """The plan's decision rule, applied mechanically to the arm's pooled rows: the estimator with
    the lowest log weight-ratio error; those not resolved worse than it (paired per-run t-interval
    includes 0) are preferred by fewer labels kept out of training, then fewer seconds per round;
    if the chosen one is not resolved better than the constant guess, the decision is "no estimator"."""
    from fair_seg_al.analysis.stats import t_interval

    pooled = scores[(scores["arm"] == arm) & (scores["bias"] == "all") & (scores["init"] == "all")].set_index(
        "estimator"
    )
    real = [e for e in pooled.index if e not in ("oracle", "constant (reference)")]
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
        "`experiment=estimator_benchmark`; command: "
        f"`python benchmarks/estimator_benchmark.py report {raw} --out {out}`",
        "",
        f"A round's training (250 steps, one thread) took {train_s:.1f} s on average in these runs.",
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


def report(raw: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    est, rounds = load(raw)
    table = summarise(est, rounds)
    (out / "cost.md").write_text(cost_fragment(table, rounds, raw, out))
    table.to_csv(out / "table.csv", index=False, float_format="%.4f")
    pairs = paired(est)
    pairs.to_csv(out / "paired.csv", index=False, float_format="%.4f")
    paired_md = [
        "#### Paired: log weight-ratio error minus holdout's, per run (negative: better than holdout)",
        "",
        "| arm | estimator | runs | mean difference [95 % CI] | runs better than holdout |",
        "|---|---|---|---|---|",
    ] + [
        f"| {r['arm']} | {r['estimator']} | {r['runs']} | {r['logratio_err_diff']:+.3f} [{r['lo']:+.3f}, {r['hi']:+.3f}] "
        f"| {r['runs_better']} of {r['runs']} |"
        for _, r in pairs.iterrows()
    ]
    (out / "table.md").write_text(
        f"<!-- written by: python benchmarks/estimator_benchmark.py report {raw} --out {out} -->\n\n"
        + markdown(table)
        + "\n"
        + "\n".join(paired_md)
        + "\n"
    )
    if "pool_dice" in est and est["pool_dice"].notna().any():  # runs made since the re-scoring plan
        scores = pool_scores(est)
        scores.drop(columns="per_run_lr_err").to_csv(out / "table_pool.csv", index=False, float_format="%.4f")
        decision = pool_decision(scores, table) if DECISION_ARM in set(scores["arm"]) else []
        (out / "table_pool.md").write_text(
            f"<!-- written by: python benchmarks/estimator_benchmark.py report {raw} --out {out} -->\n\n"
            + "\n".join(decision + pool_markdown(scores))
        )
    figures(est, out)
    bias_figure(table, out)
    print(f"wrote {out / 'table.md'} ({est['run'].nunique()} runs)")


if __name__ == "__main__":
    main()
