"""`experiment=sweep_cpu` against an older commit, side by side: total wall time of the same
grid, the final metrics paired job by job (the speed-up must not move results beyond seed
noise), and a rerun of some jobs of the new code (same selections from run to run).

    python benchmarks/bench_sweep.py                  # seed 0 of the grid (20 jobs), about 25 min here
    python benchmarks/bench_sweep.py --seeds 0,1,2    # the whole grid (60 jobs)

The old commit runs from a temporary git worktree with this checkout's virtual environment and
its own defaults (one job after another, every core); the new one with today's preset
(channels-last, the parallel launcher). Both read the same cached cohorts, generated before the
clock starts. Writes docs/benchmarks/sweep.md and docs/benchmarks/sweep_jobs.csv.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from _common import write_doc

from fair_seg_al.analysis.runs import finished_rounds, run_folders
from fair_seg_al.analysis.stats import paired_summary
from fair_seg_al.utils.io import atomic_write_text
from fair_seg_al.utils.threads import available_cores

REPO = Path(__file__).resolve().parents[1]
OLD_REF = "dcc6ad6"  # main before the speed work of issue #8 (fp32, standard layout, basic launcher)
METRICS = ("dice", "disparity", "es_dice", "worst_group_dice")
#: a metric's column in rounds.csv where its name here differs (Dice's disparity is dice_disparity)
COLUMN = {"disparity": "dice_disparity"}


def sweep(cwd: Path, log_dir: Path, cache: Path, overrides: list[str]) -> float:
    args = [sys.executable, "-m", "fair_seg_al.main", "-m", "experiment=sweep_cpu", f"paths.log_dir={log_dir}",
            f"paths.cohort_cache_dir={cache}", "sweep_name=bench", *overrides]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(cwd)}  # the checkout's own package, not the editable install's
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def finals(log_dir: Path) -> pd.DataFrame:
    rows = []
    for run in sorted(run_folders([log_dir / "al" / "multiruns" / "bench"])):
        last = finished_rounds(run).iloc[-1]
        if "worst_group_dice" not in last:
            last["worst_group_dice"] = min(last["dice_A"], last["dice_B"])
        rows.append(
            {"job": job_key(run.name), "folder": str(run), **{m: float(last[COLUMN.get(m, m)]) for m in METRICS}}
        )
    return pd.DataFrame(rows)


def job_key(folder_name: str) -> str:
    """``strategy-bias-init-seedN`` from an old (``N_<run_name>`` or ``<run_name>``) or new (``<run_name>-<hash>``) folder."""
    parts = folder_name.split("-")
    seed_at = next(i for i, p in enumerate(parts) if p.startswith("seed"))
    head = parts[: seed_at + 1]
    head[0] = head[0].split("_", 1)[1] if head[0].split("_", 1)[0].isdigit() else head[0]
    head[0] = head[0].split(".", 1)[0]  # new labels carry .estimator.composition
    return "-".join(head)


def selections(folder: Path) -> list[str]:
    df = pd.read_csv(folder / "selections.csv")
    return [f"{r}:{s}" for r, s in zip(df["round"], df["subject_id"], strict=True)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default=OLD_REF)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--repeat", default="strategy=entropy,weighted_entropy bias=strong init=imbalanced",
                    help="overrides of the jobs the new code runs a second time")  # fmt: skip
    args = ap.parse_args()
    cache = REPO / "data" / "cohorts"
    seeds = [f"seed={args.seeds}"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old_tree = tmp / "old"
        subprocess.run(["git", "worktree", "add", "--detach", str(old_tree), args.ref], cwd=REPO, check=True)
        try:
            # the cohorts first, off the clock (the same cache key in both commits, or each builds its own)
            for tree in (old_tree, REPO):
                for bias in ("weak", "strong"):
                    subprocess.run([sys.executable, "-m", "fair_seg_al.generate", f"bias={bias}",
                                    f"paths.cohort_cache_dir={cache}", f"hydra.run.dir={tmp / 'gen'}"],
                                   cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, check=True)  # fmt: skip
            wall_old = sweep(old_tree, tmp / "old_logs", cache, seeds)
            print(f"old {args.ref}: {wall_old:.0f} s", flush=True)
            wall_new = sweep(REPO, tmp / "new_logs", cache, seeds)
            print(f"new: {wall_new:.0f} s", flush=True)
            wall_rep = sweep(REPO, tmp / "rep_logs", cache, [*seeds, *args.repeat.split()])
            old, new, rep = (finals(tmp / d) for d in ("old_logs", "new_logs", "rep_logs"))
            same = [selections(Path(r.folder)) == selections(Path(new.set_index("job").loc[r.job, "folder"]))
                    for r in rep.itertuples()]  # fmt: skip
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old_tree)], cwd=REPO, check=False)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    paired = old.drop(columns="folder").merge(new.drop(columns="folder"), on="job", suffixes=("_old", "_new"))
    out_csv = REPO / "docs" / "benchmarks" / "sweep_jobs.csv"
    out_csv.parent.mkdir(exist_ok=True)
    atomic_write_text(out_csv, paired.to_csv(index=False, float_format="%.6f"))
    n = len(paired)
    lines = [
        f"Machine: {platform.machine()}, {available_cores()} cores, torch CPU; `experiment=sweep_cpu seed={args.seeds}` "
        f"({n} jobs: 5 strategies x 2 biases x 2 starts), W&B offline, cohorts cached; command: "
        "`python benchmarks/bench_sweep.py`",
        "",
        "| code | settings | wall time (s) | jobs / hour |",
        "|---|---|---|---|",
        f"| `{args.ref}` (before) | fp32, standard layout, one job after another on every core | {wall_old:.0f} "
        f"| {3600 * n / wall_old:.0f} |",
        f"| `{commit.stdout.strip() or 'HEAD'}` (now) | fp32, channels_last_3d, parallel launcher "
        f"(one job per core, a thread each) | {wall_new:.0f} | {3600 * n / wall_new:.0f} |",
        "",
        f"Speed-up of the whole sweep: **x{wall_old / wall_new:.2f}**.",
        "",
        "Final metrics, paired job by job (now minus before; the same initial sets, different float "
        "rounding, so different trajectories):",
        "",
        "| metric | before (mean) | now (mean) | paired difference [95 % CI] | paired SD |",
        "|---|---|---|---|---|",
    ]
    for m in METRICS:
        p = paired_summary(paired[f"{m}_new"] - paired[f"{m}_old"])
        lines.append(
            f"| {m} | {paired[f'{m}_old'].mean():.3f} | {paired[f'{m}_new'].mean():.3f} "
            f"| {p.mean:+.3f} [{p.ci_low:+.3f}, {p.ci_high:+.3f}] | {p.sd:.3f} |"
        )
    lines += [
        "",
        f"Run to run: {sum(same)} of {len(same)} jobs rerun with the new code (`{args.repeat}`, {wall_rep:.0f} s) "
        "selected exactly the same images in every round.",
    ]
    write_doc(REPO / "docs" / "benchmarks" / "sweep.md", lines)


if __name__ == "__main__":
    main()
