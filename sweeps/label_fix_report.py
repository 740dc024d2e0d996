"""Rebuild the label-resampling check's tables and figure from its raw runs (plan: docs/label_fix.md).

    python sweeps/label_fix_report.py        # reads docs/label_fix/runs/, writes docs/label_fix/

Per seed, the two arms (``linear_threshold``: the eroding pre-#32 scheme; ``nearest``) label the
same images (checked); their difference nearest minus old, at the final round and as the area
under the budget curve, for Dice and NSD of A, of B and the gap A - B: 12 paired t-tests, one
Holm family. Also: the old arm beside the minority cell's archived ``random`` runs of the same
seeds (same cohort, split, initial set and settings), as a check that nothing else changed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fair_seg_al.analysis.stats import area_under_curve, holm, t_interval  # noqa: E402
from fair_seg_al.utils.figures import save_png  # noqa: E402
from fair_seg_al.utils.io import atomic_write_text  # noqa: E402

RUNS = ROOT / "docs" / "label_fix" / "runs"
OUT = ROOT / "docs" / "label_fix"
CELL = ROOT / "docs" / "replication" / "runs" / "sweep_powered_minority"
ARMS = ("linear_threshold", "nearest")
METRICS = ("dice_A", "dice_B", "dice_gap", "nsd_A", "nsd_B", "nsd_gap")


def read_runs() -> pd.DataFrame:
    """One row per (arm, seed, round) with the metrics, from every finished run."""
    frames = []
    for folder in sorted(RUNS.glob("random-labels_*-seed*")):
        rounds = folder / "rounds.csv"
        if not rounds.is_file():
            continue
        arm = folder.name.split("labels_", 1)[1].split("-imbalanced", 1)[0]
        seed = int(folder.name.rsplit("-seed", 1)[1].split("-", 1)[0])
        df = pd.read_csv(rounds)
        df["dice_gap"], df["nsd_gap"] = df["dice_A"] - df["dice_B"], df["nsd_A"] - df["nsd_B"]
        df["arm"], df["seed"], df["folder"] = arm, seed, folder.name
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def complete_seeds(runs: pd.DataFrame) -> list[int]:
    """Seeds whose both arms reached the same final round, with the same selections."""
    last = runs.groupby(["seed", "arm"])["round"].max().unstack()
    seeds = [int(s) for s in last.index if all(a in last.columns for a in ARMS) and last.loc[s].nunique() == 1]
    for seed in seeds:
        picks = [
            pd.read_csv(RUNS / runs[(runs.seed == seed) & (runs.arm == arm)].folder.iloc[0] / "selections.csv")
            for arm in ARMS
        ]
        if picks[0]["subject_id"].tolist() != picks[1]["subject_id"].tolist():
            raise SystemExit(f"seed {seed}: the arms labeled different images; the pair is not a pair")
    return seeds


def per_seed(runs: pd.DataFrame, seeds: list[int]) -> pd.DataFrame:
    """Final-round value and area under the budget curve per (seed, arm, metric)."""
    rows = []
    for (seed, arm), df in runs[runs.seed.isin(seeds)].groupby(["seed", "arm"]):
        df = df.sort_values("n_labeled")
        for m in METRICS:
            rows.append({"seed": seed, "arm": arm, "metric": m, "summary": "final", "value": df[m].iloc[-1]})
            auc = area_under_curve(df["n_labeled"], df[m])
            rows.append({"seed": seed, "arm": arm, "metric": m, "summary": "auc", "value": auc})
    return pd.DataFrame(rows)


def verdicts(values: pd.DataFrame) -> pd.DataFrame:
    wide = values.pivot_table(index=["metric", "summary", "seed"], columns="arm", values="value")
    diff = (wide["nearest"] - wide["linear_threshold"]).rename("diff").reset_index()
    rows = []
    for (metric, summary), d in diff.groupby(["metric", "summary"], sort=False):
        lo, hi, p = t_interval(d["diff"])
        old = wide.loc[(metric, summary)]["linear_threshold"].mean()
        rows.append(
            {"metric": metric, "summary": summary, "seeds": len(d), "old_mean": old, "mean_diff": d["diff"].mean()}
            | {"ci_low": lo, "ci_high": hi, "p": p}
        )
    out = pd.DataFrame(rows)
    out["p_holm"] = holm(out["p"])
    out["verdict"] = [
        ("resolved higher" if r.mean_diff > 0 else "resolved lower") if r.p_holm < 0.05 else "unresolved"
        for r in out.itertuples()
    ]
    order = {m: i for i, m in enumerate(METRICS)}
    return out.sort_values(
        ["summary", "metric"], key=lambda s: s.map(order) if s.name == "metric" else s, ascending=[False, True]
    )


def reproduction(runs: pd.DataFrame, seeds: list[int]) -> pd.DataFrame:
    """The old arm's final values beside the minority cell's archived random / imbalanced runs."""
    rows = []
    for seed in seeds:
        archived = sorted(CELL.glob(f"random-strong-imbalanced-seed{seed}-*/rounds.csv"))
        if not archived:
            continue
        cell = pd.read_csv(archived[0]).sort_values("n_labeled").iloc[-1]
        mine = runs[(runs.seed == seed) & (runs.arm == "linear_threshold")].sort_values("n_labeled").iloc[-1]
        picks_cell = pd.read_csv(archived[0].parent / "selections.csv")["subject_id"].tolist()
        picks_mine = pd.read_csv(RUNS / mine["folder"] / "selections.csv")["subject_id"].tolist()
        rows.append(
            {"seed": seed, "same_selections": picks_cell == picks_mine}
            | {f"{m}_cell": cell[m] for m in ("dice_A", "dice_B")}
            | {f"{m}_rerun": mine[m] for m in ("dice_A", "dice_B")}
        )
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, summary in zip(axes, ("final", "auc"), strict=True):
        t = table[table.summary == summary].reset_index(drop=True)
        y = np.arange(len(t))
        resolved = t["verdict"] != "unresolved"
        ax.errorbar(
            t["mean_diff"],
            y,
            xerr=[t["mean_diff"] - t["ci_low"], t["ci_high"] - t["mean_diff"]],
            fmt="none",
            ecolor="0.4",
            capsize=3,
        )
        ax.plot(t["mean_diff"][~resolved], y[~resolved], "o", mfc="white", mec="C0")
        ax.plot(t["mean_diff"][resolved], y[resolved], "o", color="C3")
        ax.axvline(0, color="0.5", lw=0.8)
        ax.set_yticks(y, t["metric"])
        ax.set_title(
            f"{'final round (90 labels)' if summary == 'final' else 'area under the budget curve'}", fontsize=10
        )
        ax.set_xlabel("nearest minus linear_threshold (95 % paired t)")
    axes[0].invert_yaxis()
    fig.suptitle(
        f"Label resampling, minority design, random, {int(table.seeds.max())} paired seeds (filled: Holm-resolved)",
        fontsize=10,
    )
    save_png(fig, path)


def main() -> None:
    runs = read_runs()
    seeds = complete_seeds(runs)
    if len(seeds) < 2:
        raise SystemExit(f"{len(seeds)} complete paired seed(s) in {RUNS}: at least 2 are needed")
    values = per_seed(runs, seeds)
    table = verdicts(values)
    atomic_write_text(OUT / "per_seed.csv", values.to_csv(index=False))
    atomic_write_text(OUT / "verdicts.csv", table.to_csv(index=False, float_format="%.6f"))
    repro = reproduction(runs, seeds)
    atomic_write_text(OUT / "reproduction.csv", repro.to_csv(index=False, float_format="%.6f"))
    figure(table, OUT / "label_fix.png")
    text = markdown(table, repro, seeds)
    atomic_write_text(OUT / "verdicts.md", text)
    print(text)


def markdown(table: pd.DataFrame, repro: pd.DataFrame, seeds: list[int]) -> str:
    lines = [
        "# Label-resampling check: verdicts",
        "",
        "Produced by: `python sweeps/label_fix_report.py` from `docs/label_fix/runs/` (plan: docs/label_fix.md). "
        f"Seeds {', '.join(map(str, seeds))}; `random` from the imbalanced start, minority design; each pair labels "
        "the same images. Difference: `nearest` minus `linear_threshold` (the eroding pre-#32 scheme), 95 % paired "
        f"t-interval over {len(seeds)} seeds; one Holm family of {len(table)} tests.",
        "",
        "| summary | metric | linear_threshold (mean) | nearest - linear_threshold | Holm p | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.summary} | {r.metric} | {r.old_mean:.3f} | {r.mean_diff:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}] "
            f"| {r.p_holm:.3f} | {r.verdict} |"
        )
    lines += [
        "",
        "## The old arm beside the minority cell's archived runs (same seeds, cohort, split, initial set)",
        "",
        "| seed | same selections | Dice A cell | Dice A rerun | Dice B cell | Dice B rerun |",
        "|---|---|---|---|---|---|",
    ]
    for r in repro.itertuples():
        lines.append(
            f"| {r.seed} | {'yes' if r.same_selections else 'no'} | {r.dice_A_cell:.4f} | {r.dice_A_rerun:.4f} "
            f"| {r.dice_B_cell:.4f} | {r.dice_B_rerun:.4f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
