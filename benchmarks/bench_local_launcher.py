"""The card's command, `python -m fair_seg_al.main -m strategy=weighted_entropy,entropy bias=strong,weak`,
with the default local launcher against one job after another (`hydra/launcher=basic`), side by
side in one session: the two alternate (ABBA), so a drift in the machine's speed falls on both.

    python benchmarks/bench_local_launcher.py              # 2 pairs (4 sweeps of 4 jobs), about 15 min on 2 cores
    python benchmarks/bench_local_launcher.py --pairs 1

Both read the same cached cohorts, generated before the clock starts. Raw rows go to
docs/benchmarks/local_launcher.csv (appended, with the machine), the summary to
docs/benchmarks/local_launcher.md.
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

from fair_seg_al.utils.io import atomic_write_text
from fair_seg_al.utils.machine import cpu_name, vector_isa
from fair_seg_al.utils.threads import available_cores

REPO = Path(__file__).resolve().parents[1]
CARD = ["-m", "strategy=weighted_entropy,entropy", "bias=strong,weak", "logger=none"]
LAUNCHERS = {"basic": ["hydra/launcher=basic"], "local": []}  # local: the default


def sweep(root: Path, cache: Path, name: str, launcher: str) -> float:
    args = [sys.executable, "-m", "fair_seg_al.main", *CARD, *LAUNCHERS[launcher], f"sweep_name={name}",
            f"paths.cohort_cache_dir={cache}"]  # fmt: skip
    env = {**os.environ, "FAIR_SEG_AL_ROOT": str(root)}
    start = time.perf_counter()
    subprocess.run(args, cwd=REPO, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def report(rows: pd.DataFrame, out: Path) -> None:
    lines = [
        "The card's four-job multirun (`strategy=weighted_entropy,entropy bias=strong,weak`, W&B off), "
        "whole sweeps timed in alternating order (ABBA) in one session; ratio = basic / local per pair. "
        "Command: `python benchmarks/bench_local_launcher.py`; raw rows: docs/benchmarks/local_launcher.csv.",
        "",
        "| session | machine | cores | pairs | basic (s) | local (s) | ratio per pair | mean ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (machine, cores, session), g in rows.groupby(["machine", "cores", "session"], sort=False):
        piv = g.pivot(index="pair", columns="launcher", values="wall_s")
        ratios = piv["basic"] / piv["local"]
        lines.append(
            f"| {session} | {machine} | {cores} | {len(piv)} | {', '.join(f'{v:.0f}' for v in piv['basic'])} | "
            f"{', '.join(f'{v:.0f}' for v in piv['local'])} | {', '.join(f'x{r:.2f}' for r in ratios)} | "
            f"x{ratios.mean():.2f} |"
        )
    atomic_write_text(out, "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--csv", default=str(REPO / "docs" / "benchmarks" / "local_launcher.csv"))
    parser.add_argument("--out", default=str(REPO / "docs" / "benchmarks" / "local_launcher.md"))
    parser.add_argument("--report-only", action="store_true", help="rebuild the summary from the CSV")
    args = parser.parse_args()
    csv = Path(args.csv)
    if not args.report_only:
        session = time.strftime("%Y-%m-%dT%H:%M")
        machine = f"{platform.machine()} {vector_isa()} ({cpu_name()})"
        with tempfile.TemporaryDirectory() as tmp:
            root, cache = Path(tmp), Path(tmp) / "cohorts"
            # the cohorts, before any clock starts: a zero-round sweep generates and caches both
            subprocess.run([sys.executable, "-m", "fair_seg_al.main", *CARD, "al.rounds=0", "sweep_name=warm",
                            f"paths.cohort_cache_dir={cache}"], cwd=REPO, check=True, capture_output=True,
                           env={**os.environ, "FAIR_SEG_AL_ROOT": str(root)})  # fmt: skip
            rows = []
            for pair in range(args.pairs):
                order = ("basic", "local") if pair % 2 == 0 else ("local", "basic")
                for launcher in order:
                    wall = sweep(root, cache, f"{launcher}-{pair}", launcher)
                    print(f"pair {pair} {launcher}: {wall:.1f} s", flush=True)
                    row = {"session": session, "machine": machine, "cores": available_cores()}
                    rows.append({**row, "pair": pair, "launcher": launcher, "wall_s": round(wall, 1)})
        new = pd.DataFrame(rows)
        old = pd.read_csv(csv) if csv.is_file() else None
        table = pd.concat([old, new]) if old is not None else new
        csv.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(csv, table.to_csv(index=False))
    report(pd.read_csv(csv), Path(args.out))
    print(Path(args.out).read_text())


if __name__ == "__main__":
    main()
