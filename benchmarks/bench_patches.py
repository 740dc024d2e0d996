"""A whole-brain-size 1 mm cohort, trained on patches and scored by sliding window: peak memory.

    python benchmarks/bench_patches.py        # a few minutes here; writes docs/benchmarks/patches.md

Builds 12 subjects of 160x192x160 voxels at 1 mm (fair_seg_al.examples.own_cohort: ICBM 2009c
template, AAL left thalamus, groups F/M/X), then runs one AL experiment on them with 64^3
training patches and sliding-window inference (`data.patch_size=[64,64,64]`), in a fresh
process whose peak resident memory is read from the kernel (ru_maxrss of the child).
"""

from __future__ import annotations

import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import write_doc

from fair_seg_al.analysis.runs import finished_rounds
from fair_seg_al.examples.own_cohort import build
from fair_seg_al.utils.threads import available_cores

REPO = Path(__file__).resolve().parents[1]
SHAPE = (160, 192, 160)
PATCH = 64


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        cohort = build(tmp / "wholebrain", group_sizes={"F": 4, "M": 4, "X": 4}, spacing=1.0, shape=SHAPE)
        build_s = time.perf_counter() - t0
        run = tmp / "run"
        args = [sys.executable, "-m", "fair_seg_al.main", "source=folder", f"source.cohort_dir={cohort}", "init=balanced",
                "data.test_per_group=1", "data.val_per_group=0", "al.initial_size=3", "al.budget=3", "al.rounds=1",
                f"data.patch_size=[{PATCH},{PATCH},{PATCH}]", "data.batch_size=2", "data.eval_batch_size=1",
                "trainer.max_steps=20", "logger=none", "trainer.enable_progress_bar=false",
                f"paths.cohort_cache_dir={tmp / 'cache'}", f"hydra.run.dir={run}"]  # fmt: skip
        t0 = time.perf_counter()
        subprocess.run(args, cwd=REPO, check=True, capture_output=True)
        wall = time.perf_counter() - t0
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
        rounds = finished_rounds(run)
    voxels = SHAPE[0] * SHAPE[1] * SHAPE[2]
    lines = [
        f"Machine: {platform.machine()}, {available_cores()} cores, torch CPU; command: `python benchmarks/bench_patches.py`",
        "",
        f"12 subjects of {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]} voxels at 1 mm ({voxels / 1e6:.1f} M voxels each; built in "
        f"{build_s:.0f} s), groups F/M/X; 3 + 1 x 3 labels, 20 training steps per round on {PATCH}^3 patches (batch 2), "
        f"sliding-window inference ({PATCH}^3 windows, overlap 0.25) for scoring and evaluation.",
        "",
        "| peak resident memory of the run (MiB) | wall time (s) | rounds | test Dice, last round |",
        "|---|---|---|---|",
        f"| {peak_mib:.0f} | {wall:.0f} | {len(rounds)} | {rounds['dice'].iloc[-1]:.3f} |",
        "",
        "The cohort's volumes are held in memory as float32 (about "
        f"{12 * voxels * 5 / 2**20:.0f} MiB for 12 images and masks); the rest is the network, one batch of "
        "patches and one volume's sliding-window probabilities. Timings here ran beside other jobs; memory does not depend on that.",
    ]
    write_doc(REPO / "docs" / "benchmarks" / "patches.md", lines)


if __name__ == "__main__":
    main()
