"""Bias calibration: does each preset open the Dice gap it claims?

Runs random sampling from the imbalanced start under bias none/weak/strong for several
seeds, then prints the group-B minus group-A Dice gap per preset (mean +- SD over seeds)
at the first and last round and averaged over the budget.

    python sweeps/calibrate_bias.py                     # runs the sweep (about 8 min on 2 cores), then the table
    python sweeps/calibrate_bias.py --sweep-dir DIR     # only the table, from an existing sweep
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd

from fair_seg_al.analysis.runs import ReportError, find_runs, summary_table

REPO = Path(__file__).resolve().parents[1]


def collect(sweep_dir: Path) -> pd.DataFrame:
    """Every run's rounds (:func:`fair_seg_al.analysis.runs.summary_table`: bias and seed columns)."""
    try:
        df = summary_table(find_runs([sweep_dir]))
    except ReportError as err:
        raise SystemExit(str(err)) from None
    if df.empty:
        raise SystemExit(f"no rounds.csv under {sweep_dir}")
    return df


def table(df: pd.DataFrame) -> str:
    df = df.assign(gap=df["dice_A"] - df["dice_B"])
    first, last = df["round"].min(), df["round"].max()
    rows = []
    for bias in ("none", "weak", "strong"):
        d = df[df["bias"] == bias]
        if d.empty:
            continue
        r0, rl = d[d["round"] == first], d[d["round"] == last]
        auc = d.groupby("seed")["gap"].mean()

        def ms(s: pd.Series) -> str:
            return f"{s.mean():+.3f} +- {s.std(ddof=1) if len(s) > 1 else 0:.3f}"

        rows.append(
            f"| {bias} | {d['seed'].nunique()} | {r0['dice_A'].mean():.3f} | {r0['dice_B'].mean():.3f} | "
            f"{ms(r0['gap'])} | {ms(rl['gap'])} | {ms(auc)} |"
        )
    n0 = int(df[df["round"] == first]["n_labeled"].iloc[0])
    nl = int(df[df["round"] == last]["n_labeled"].iloc[0])
    head = (
        f"| bias | seeds | Dice A (n={n0}) | Dice B (n={n0}) | gap A-B at n={n0} | gap A-B at n={nl} | "
        "gap A-B, mean over rounds |\n|---|---|---|---|---|---|---|"
    )
    return head + "\n" + "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep-dir", type=Path)
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    sweep_dir = args.sweep_dir
    if sweep_dir is None:
        name = "bias-calibration"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "fair_seg_al.main",
                "-m",
                "strategy=random",
                "init=imbalanced",
                "bias=none,weak,strong",
                f"seed={args.seeds}",
                "logger=none",
                f"sweep_name={name}",
                "trainer.enable_progress_bar=false",
            ],
            cwd=REPO,
            check=True,
        )
        sweep_dir = REPO / "logs" / "al" / "multiruns" / name
    print(table(collect(sweep_dir)))


if __name__ == "__main__":
    main()
