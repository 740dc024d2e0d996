"""The estimator benchmark (issue #7 C): how well does each group-performance estimator
track the test Dice it stands in for, and what does it cost?

    python benchmarks/estimator_benchmark.py collect logs/al/multiruns/estimator_benchmark \\
        --raw docs/estimators/runs/estimator_benchmark        # copy a sweep's raw per-run files
    python benchmarks/estimator_benchmark.py report docs/estimators/runs --out docs/estimators

``collect`` keeps, per finished run, the small files every number rests on: ``estimates.csv``,
``rounds.csv``, ``selections.csv`` and the resolved ``config.yaml``. ``report`` rebuilds
``docs/estimators/table.csv``, ``docs/estimators/table.md`` and the figures from them alone.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

RAW_FILES = ("estimates.csv", "rounds.csv", "selections.csv")


def collect(sweep: Path, raw: Path) -> int:
    """Copy each finished run's raw files into ``raw/<run folder>/``; return how many."""
    n = 0
    for run in sorted(p for p in sweep.iterdir() if (p / "rounds.csv").is_file()):
        cfg = OmegaConf.load(run / ".hydra" / "config.yaml")
        rounds = pd.read_csv(run / "rounds.csv")
        if rounds["round"].max() < int(cfg.al.rounds) or (run / "FAILED").exists():
            print(f"skipping unfinished run {run}", file=sys.stderr)
            continue
        name = run.name.split("-", 1)[1]  # drop the job number: it changes from chunk to chunk
        dest = raw / name
        dest.mkdir(parents=True, exist_ok=True)
        for f in RAW_FILES:
            shutil.copy2(run / f, dest / f)
        shutil.copy2(run / ".hydra" / "config.yaml", dest / "config.yaml")
        n += 1
    print(f"collected {n} runs into {raw}")
    return n


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


def report(raw: Path, out: Path) -> None:
    raise NotImplementedError  # written next


if __name__ == "__main__":
    main()
