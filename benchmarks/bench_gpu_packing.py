"""Several AL jobs packed on one GPU: runs per hour for 1, 2, 4, 8 concurrent jobs, and the
projected wall time of the paper grid (`experiment=sweep_paper`) on one GPU and on N nodes.

    python benchmarks/bench_gpu_packing.py                 # on a GPU machine; about 6 min on one H100-class GPU
    python benchmarks/bench_gpu_packing.py --smoke         # CPU plumbing check: tiny jobs, writes nothing to docs/

Each level k runs 2k jobs of `experiment=gpu_packing` (a short paper-scale job: 1 mm volumes,
the paper's U-Net, 16-mixed, 10 + 2 x 10 labels, 300 steps per round) on the parallel launcher
with n_jobs=k (concurrent processes sharing the GPU and a 1/k share of the cores). The paper
grid is projected by scaling the measured jobs per hour by training steps per job
(training dominates both): a rough figure, stated as such in the docs. Writes
docs/benchmarks/gpu_packing.md.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from _common import write_doc

from fair_seg_al.analysis.runs import finished_rounds, run_folders
from fair_seg_al.utils.threads import available_cores

REPO = Path(__file__).resolve().parents[1]
SHORT_STEPS = 3 * 300  # gpu_packing: rounds 0..2, 300 steps each
PAPER_STEPS = 11 * 2000  # sweep_paper: rounds 0..10, 2,000 steps each
PAPER_JOBS = 5 * 2 * 2 * 5  # strategies x biases x inits x seeds


def level(k: int, logs: Path, extra: list[str]) -> tuple[float, list[str]]:
    seeds = ",".join(str(s) for s in range(2 * k))
    args = [sys.executable, "-m", "fair_seg_al.main", "-m", "experiment=gpu_packing", f"hydra.launcher.n_jobs={k}",
            f"seed={seeds}", f"sweep_name=packing_k{k}", f"paths.log_dir={logs}", *extra]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(args, cwd=REPO, check=True, capture_output=True)
    wall = time.perf_counter() - start
    runs = run_folders([logs / "al" / "multiruns" / f"packing_k{k}"])
    devices = sorted({str(d) for run in runs for d in finished_rounds(run)["device"]})
    return wall, devices


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", default="1,2,4,8")
    ap.add_argument("--nodes", type=int, default=8, help="N for the SLURM projection")
    ap.add_argument("--smoke", action="store_true", help="tiny CPU jobs: checks the plumbing, writes nothing to docs/")
    args = ap.parse_args()
    extra = ["trainer=default", "cohort=default", "model.net.channels=[8,16,32]", "model.net.strides=[2,2]",
             "trainer.max_steps=3", "cohort.n_subjects=120", "data.test_per_group=10", "data.num_workers=0"] if args.smoke else []  # fmt: skip
    levels = [int(x) for x in args.levels.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp)
        # the cohort first, off the clock
        subprocess.run([sys.executable, "-m", "fair_seg_al.main", "experiment=gpu_packing", "al.rounds=1",
                        "trainer.max_steps=1", f"paths.log_dir={logs}", *extra], cwd=REPO, check=True, capture_output=True)  # fmt: skip
        for k in levels:
            wall, devices = level(k, logs, extra)
            jobs = 2 * k
            rows.append({"jobs_side_by_side": k, "jobs": jobs, "wall_s": wall, "jobs_per_hour": 3600 * jobs / wall,
                         "devices": ",".join(devices)})  # fmt: skip
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    best = df.loc[df["jobs_per_hour"].idxmax()]
    paper_per_hour = best["jobs_per_hour"] * SHORT_STEPS / PAPER_STEPS
    one_gpu_h = PAPER_JOBS / paper_per_hour
    gpu = "unknown GPU"
    try:
        gpu = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, check=True).stdout.strip().splitlines()[0]  # fmt: skip
    except (OSError, subprocess.CalledProcessError, IndexError):
        pass
    lines = [
        f"Machine: {gpu}, {available_cores()} cores, {platform.machine()}; `experiment=gpu_packing` "
        f"(1 mm, 64x96x80, paper U-Net, 16-mixed, 3 rounds x 300 steps); command: `python benchmarks/bench_gpu_packing.py`",
        "",
        "| jobs side by side | jobs run | wall (s) | jobs per hour | x vs 1 | devices in rounds.csv |",
        "|---|---|---|---|---|---|",
    ]
    base = df.loc[df["jobs_side_by_side"] == df["jobs_side_by_side"].min(), "jobs_per_hour"].iloc[0]
    for r in df.itertuples():
        lines.append(f"| {r.jobs_side_by_side} | {r.jobs} | {r.wall_s:.0f} | {r.jobs_per_hour:.1f} "
                     f"| x{r.jobs_per_hour / base:.2f} | {r.devices} |")  # fmt: skip
    lines += [
        "",
        f"Projection (rough: jobs per hour scaled by training steps, {SHORT_STEPS} here against {PAPER_STEPS} per "
        f"paper job): the paper grid ({PAPER_JOBS} jobs) takes about {one_gpu_h:.0f} h on one GPU with "
        f"{int(best['jobs_side_by_side'])} jobs packed, and about {one_gpu_h / args.nodes:.1f} h on {args.nodes} "
        "such SLURM nodes (one GPU each).",
    ]
    write_doc(None if args.smoke else REPO / "docs" / "benchmarks" / "gpu_packing.md", lines)


if __name__ == "__main__":
    main()
