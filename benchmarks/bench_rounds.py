"""Where an AL round's time goes: train / score / select / evaluate, from the default job.

    python benchmarks/bench_rounds.py [--out docs/benchmarks/rounds.md] [OVERRIDES...]

Runs ``python -m fair_seg_al.main logger=none`` (plus overrides) into a temporary root
that shares this checkout's cohort cache, then tabulates the seconds columns of its
``rounds.csv`` and the wall time of the whole job.
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

from fair_seg_al.analysis.runs import finished_rounds

REPO = Path(__file__).resolve().parents[1]
PHASES = ["seconds_train", "seconds_score", "seconds_select", "seconds_evaluate"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(REPO / "docs/benchmarks/rounds.md"))
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        cmd = [
            sys.executable,
            "-m",
            "fair_seg_al.main",
            "logger=none",
            "trainer.enable_progress_bar=false",
            f"hydra.run.dir={run_dir}",
            f"paths.cohort_cache_dir={REPO / 'data' / 'cohorts'}",
            *args.overrides,
        ]
        start = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, env={**os.environ, "FAIR_SEG_AL_ROOT": tmp})
        wall = time.perf_counter() - start
        rounds = finished_rounds(run_dir)
    totals = rounds[PHASES].sum()
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; command: `python benchmarks/bench_rounds.py "
        f"{' '.join(args.overrides)}` (default job, cohort cached, logger=none); whole job {wall:.1f} s.",
        "",
        "| round | n_labeled | train (s) | score (s) | select (s) | evaluate (s) |",
        "|---|---|---|---|---|---|",
    ]
    for _, r in rounds.iterrows():
        cells = [f"{r[p]:.3f}" if pd.notna(r[p]) else "-" for p in PHASES]
        lines.append(f"| {int(r['round'])} | {int(r['n_labeled'])} | " + " | ".join(cells) + " |")
    share = 100 * totals / totals.sum()
    lines.append("| total | | " + " | ".join(f"{totals[p]:.2f} ({share[p]:.1f} %)" for p in PHASES) + " |")
    write_doc(args.out, lines)


if __name__ == "__main__":
    main()
