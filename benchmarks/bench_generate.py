"""Cohort generation speed (subjects/second) at the default and paper settings.

    python benchmarks/bench_generate.py [--n-default 200] [--n-paper 20] [--out docs/benchmarks/generate.md]

Each setting is generated from scratch into a temporary folder (no cache) with 1 process
and with every core; the markdown table is printed and written to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from omegaconf import OmegaConf

from fair_seg_al.cohort import CohortSpec, generate_cohort
from fair_seg_al.cohort.generator import resolve_workers
from fair_seg_al.utils.io import atomic_write_text

REPO = Path(__file__).resolve().parents[1]


def spec_for(cohort: str, n: int) -> CohortSpec:
    base = OmegaConf.load(REPO / "conf/cohort/default.yaml")
    cfg = OmegaConf.merge(base, OmegaConf.load(REPO / f"conf/cohort/{cohort}.yaml"))
    cfg.pop("defaults", None)
    cfg.n_subjects = n
    return CohortSpec.from_config(cfg, OmegaConf.load(REPO / "conf/bias/strong.yaml"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-default", type=int, default=200)
    parser.add_argument("--n-paper", type=int, default=20)
    parser.add_argument("--out", default=str(REPO / "docs/benchmarks/generate.md"))
    args = parser.parse_args()
    cores = resolve_workers("auto")
    rows = []
    for cohort, n in (("default", args.n_default), ("paper", args.n_paper)):
        spec = spec_for(cohort, n)
        for workers in sorted({1, cores}):
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                generate_cohort(spec, out_dir=Path(tmp) / "c", num_workers=workers, progress=False)
                seconds = time.perf_counter() - start
            rows.append((cohort, "x".join(map(str, spec.shape)), spec.spacing_mm, n, workers, seconds, n / seconds))
            print(rows[-1], flush=True)
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; command: `python benchmarks/bench_generate.py`",
        "",
        "| cohort | shape | spacing (mm) | subjects | processes | seconds | subjects/s |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {c} | {s} | {sp:g} | {n} | {w} | {t:.1f} | {r:.2f} |" for c, s, sp, n, w, t, r in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    atomic_write_text(args.out, text)


if __name__ == "__main__":
    main()
