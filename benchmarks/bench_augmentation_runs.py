"""Whole powered runs, two at a time side by side: does batched augmentation change the results,
and what does each setting cost over a whole run?

    python benchmarks/bench_augmentation_runs.py --pair torchio,batched --seeds 0,1,2,3,4   # quality + speed
    python benchmarks/bench_augmentation_runs.py --pair off,batched --seeds 0               # cost of augmenting
    python benchmarks/bench_augmentation_runs.py --pair 964cc25,batched --seeds 0           # against old code
    python benchmarks/bench_augmentation_runs.py --report                                   # tables from the CSV

A setting is an augmentation implementation (``torchio``, ``batched``) or ``off``, run with this
checkout's code, or a commit, run from a temporary worktree of it with that commit's defaults
(the shared cohort cache is used). Each job is ``experiment=sweep_powered`` (strong bias, 9/1
start, 10 + 8 x 10 labels, augmentation on, W&B offline) with ``strategy=masked_entropy`` (the
same in every commit measured), one thread, as its sweep runs a job. The two runs of a seed start
together and share the machine, so their time ratio is measured under the same load whatever
else runs. Every run appends one row (wall time, training seconds, final Dice, disparity, NSD,
the CPU) to ``docs/benchmarks/augmentation_runs.csv``; the report is rebuilt from that file
alone into ``docs/benchmarks/augmentation_runs.md``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from _common import write_doc

from fair_seg_al.analysis.runs import finished_rounds
from fair_seg_al.analysis.stats import paired_summary
from fair_seg_al.utils.io import atomic_write_text
from fair_seg_al.utils.machine import cpu_name, vector_isa

REPO = Path(__file__).resolve().parents[1]
RAW = REPO / "docs" / "benchmarks" / "augmentation_runs.csv"
OUT = REPO / "docs" / "benchmarks" / "augmentation_runs.md"
IMPLEMENTATIONS = ("torchio", "batched", "off")
METRICS = ("dice", "dice_A", "dice_B", "disparity", "es_dice", "nsd_B", "nsd_disparity")
#: a metric's column in rounds.csv where its name here differs (Dice's disparity is dice_disparity)
COLUMN = {"disparity": "dice_disparity"}


def command(setting: str, seed: int, run_dir: Path) -> list[str]:
    args = [sys.executable, "-m", "fair_seg_al.main", "experiment=sweep_powered", "strategy=masked_entropy",
            "bias=strong", "init=imbalanced", f"seed={seed}", "num_threads=1", "resume=false",
            f"hydra.run.dir={run_dir}"]  # fmt: skip
    if setting == "off":
        args.append("data.augmentation.enabled=false")
    elif setting in IMPLEMENTATIONS:
        args.append(f"data.augmentation.implementation={setting}")
    return args


def checkout(setting: str, tmp: Path) -> Path:
    """This checkout for an implementation name; a temporary worktree for a commit."""
    if setting in IMPLEMENTATIONS:
        return REPO
    tree = tmp / f"code-{setting}"
    if not tree.exists():
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), setting], check=True)
    return tree


def run_pair(pair: list[str], seed: int, tmp: Path) -> list[dict]:
    procs = []
    for setting in pair:
        run_dir = tmp / f"{setting}-seed{seed}"
        env = {**os.environ, "FAIR_SEG_AL_ROOT": str(REPO), "WANDB_DIR": str(tmp), "PYTHONPATH": ""}
        log = open(tmp / f"{setting}-seed{seed}.log", "w")
        start = time.perf_counter()
        proc = subprocess.Popen(command(setting, seed, run_dir), cwd=checkout(setting, tmp), env=env,
                                stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        procs.append((setting, run_dir, start, proc, log))
    ended: dict[str, float] = {}
    while len(ended) < len(procs):  # each run's own end time (not when the harness gets to it)
        for setting, _, _, proc, _ in procs:
            if setting not in ended and proc.poll() is not None:
                ended[setting] = time.perf_counter()
        time.sleep(0.5)
    rows = []
    for setting, run_dir, start, proc, log in procs:
        log.close()
        if proc.returncode != 0:
            raise SystemExit(f"{setting} seed {seed} failed: see {log.name}")
        wall = ended[setting] - start
        rounds = finished_rounds(run_dir)
        last = rounds.iloc[-1]
        rows.append(
            {
                "pair": ",".join(pair),
                "setting": setting,
                "seed": seed,
                "wall_s": round(wall, 1),
                "train_s": round(float(rounds["seconds_train"].sum()), 1),
                "rounds": int(last["round"]),
                "cpu": cpu_name(),
                "isa": vector_isa(),
                "cores": os.cpu_count(),
            }  # fmt: skip
            | {m: (float(last[COLUMN.get(m, m)]) if COLUMN.get(m, m) in last else float("nan")) for m in METRICS}
        )
        print(rows[-1], flush=True)
    return rows


def append(rows: list[dict]) -> None:
    old = pd.read_csv(RAW) if RAW.is_file() else pd.DataFrame()
    RAW.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RAW, pd.concat([old, pd.DataFrame(rows)], ignore_index=True).to_csv(index=False))


def report() -> list[str]:
    df = pd.read_csv(RAW)
    lines = [
        "<!-- written by: python benchmarks/bench_augmentation_runs.py --report (from docs/benchmarks/augmentation_runs.csv) -->",
        "",
        "Whole runs of `experiment=sweep_powered` (strong bias, 9/1 start, 9 rounds of 250 steps, "
        "`strategy=masked_entropy`, one thread); the two runs of a seed ran side by side. "
        f"CPU: {', '.join(sorted(set(df['cpu'] + ' (' + df['isa'] + ')')))}, {int(df['cores'].iloc[0])} cores. "
        "Differences are B minus A per seed, 95 % paired t-intervals. These runs predate issue 32: `batched` "
        "resampled labels trilinearly and cut them at 0.5 (now `label_interpolation: linear_threshold`), "
        "and `torchio` took `translation` in voxels.",
        "",
    ]
    for pair, g in df.groupby("pair", sort=False):
        a_name, b_name = pair.split(",")
        a = g[g["setting"] == a_name].set_index("seed").sort_index()
        b = g[g["setting"] == b_name].set_index("seed").sort_index()
        seeds = a.index.intersection(b.index)
        a, b = a.loc[seeds], b.loc[seeds]
        lines += [
            f"### A = {a_name}, B = {b_name} (seeds {', '.join(map(str, seeds))})",
            "",
            "Wall-time ratio A / B: "
            + ", ".join(f"x{r:.2f}" for r in a["wall_s"] / b["wall_s"])
            + f" (mean x{(a['wall_s'] / b['wall_s']).mean():.2f}); training seconds A / B: mean "
            f"x{(a['train_s'] / b['train_s']).mean():.2f}.",
            "",
        ]
        if len(seeds) >= 2:
            lines += ["| | A (mean ± SD) | B (mean ± SD) | B - A [95 % CI] |", "|---|---|---|---|"]
            for m in ("wall_s", "train_s", *METRICS):
                if a[m].isna().all() or b[m].isna().all():
                    continue
                fmt = ".1f" if m.endswith("_s") else ".3f"
                p = paired_summary(b[m] - a[m])
                lines.append(
                    f"| {m} | {a[m].mean():{fmt}} ± {a[m].std():{fmt}} | {b[m].mean():{fmt}} ± {b[m].std():{fmt}} "
                    f"| {p.mean:+{fmt}} [{p.ci_low:+{fmt}}, {p.ci_high:+{fmt}}] |"
                )
            lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", help="two settings run side by side, e.g. torchio,batched")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--report", action="store_true", help="only rebuild the tables from the CSV")
    args = parser.parse_args()
    if not args.report:
        pair = args.pair.split(",")
        if len(pair) != 2:
            raise SystemExit("--pair takes two settings, e.g. torchio,batched")
        with tempfile.TemporaryDirectory() as tmp:
            try:
                for seed in map(int, args.seeds.split(",")):
                    append(run_pair(pair, seed, Path(tmp)))
            finally:
                subprocess.run(["git", "-C", str(REPO), "worktree", "prune"], check=False)
    write_doc(OUT, report())


if __name__ == "__main__":
    main()
