"""The default job with and without the channels-last memory format, 5 seeds each: wall time,
training seconds and final metrics, paired by seed (the speed-up must not move the results
beyond seed noise).

    python benchmarks/bench_memory_format_job.py        # about 6 min here; writes docs/benchmarks/memory_format.md
"""

from __future__ import annotations

import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from _common import write_doc

from fair_seg_al.analysis.runs import finished_rounds
from fair_seg_al.analysis.stats import paired_summary

REPO = Path(__file__).resolve().parents[1]
SEEDS = range(5)


def run(seed: int, channels_last: bool, out: Path) -> tuple[float, pd.DataFrame]:
    args = [
        sys.executable, "-m", "fair_seg_al.main", "logger=none", "trainer.enable_progress_bar=false",
        f"model.channels_last={str(channels_last).lower()}", f"seed={seed}", f"hydra.run.dir={out}",
    ]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(args, cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - start, finished_rounds(out)


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in SEEDS:
            for cl in (False, True):
                wall, rounds = run(seed, cl, Path(tmp) / f"{cl}-{seed}")
                last = rounds.iloc[-1]
                rows.append(
                    {"seed": seed, "channels_last": cl, "wall_s": wall, "train_s": rounds["seconds_train"].sum()}
                    | {"dice": last["dice"], "disparity": last["dice_disparity"], "es_dice": last["es_dice"]}
                )
                print(rows[-1])
    df = pd.DataFrame(rows)
    a, b = df[~df["channels_last"]].set_index("seed"), df[df["channels_last"]].set_index("seed")
    lines = [
        f"Machine: {platform.machine()}, 2 cores; default job (`python -m fair_seg_al.main`, strong bias, "
        f"9/1 start, 10 + 4 x 10 labels), seeds {SEEDS.start}-{SEEDS.stop - 1}, one after another; command: "
        "`python benchmarks/bench_memory_format_job.py`",
        "",
        "| | fp32, standard layout | fp32, channels_last_3d | paired difference [95 % CI] |",
        "|---|---|---|---|",
    ]
    for m, fmt in (("wall_s", ".1f"), ("train_s", ".1f"), ("dice", ".3f"), ("disparity", ".3f"), ("es_dice", ".3f")):
        p = paired_summary(b[m] - a[m])
        lines.append(
            f"| {m} (mean ± SD) | {a[m].mean():{fmt}} ± {a[m].std():{fmt}} | {b[m].mean():{fmt}} ± {b[m].std():{fmt}} "
            f"| {p.mean:+{fmt}} [{p.ci_low:+{fmt}}, {p.ci_high:+{fmt}}] |"
        )
    lines += ["", f"Training speed-up: x{a['train_s'].mean() / b['train_s'].mean():.2f}; whole job: "
              f"x{a['wall_s'].mean() / b['wall_s'].mean():.2f}."]  # fmt: skip
    write_doc(REPO / "docs" / "benchmarks" / "memory_format.md", lines)


if __name__ == "__main__":
    main()
