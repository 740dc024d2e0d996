"""Cohort generation speed (subjects/second) at the default and paper settings.

    python benchmarks/bench_generate.py [--n-default 200] [--n-paper 20] [--out docs/benchmarks/generate.md]
    python benchmarks/bench_generate.py --anatomies [--n-anatomies 48]   # six real brains vs the template

Each setting is generated from scratch into a temporary folder (no cache) with 1 process
and with every core; the markdown table is printed and written to ``--out``. ``--anatomies``
instead times ``cohort=anatomies`` (the Allen donors' label maps, synthesised per subject) and
the default template cohort, same size, alternately in one process, and reports their ratio:
a ratio holds on a loaded machine, where the seconds do not. The first anatomies pass also
builds each donor's interior (once per process), reported apart.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from _common import write_doc
from omegaconf import OmegaConf

from fair_seg_al.cohort import CohortSpec, generate_cohort
from fair_seg_al.cohort.generator import resolve_workers

REPO = Path(__file__).resolve().parents[1]


def spec_for(cohort: str, n: int) -> CohortSpec:
    base = OmegaConf.load(REPO / "conf/cohort/default.yaml")
    cfg = OmegaConf.merge(base, OmegaConf.load(REPO / f"conf/cohort/{cohort}.yaml"))
    cfg.pop("defaults", None)
    cfg.n_subjects = n
    return CohortSpec.from_config(cfg, OmegaConf.load(REPO / "conf/bias/strong.yaml"))


def machine_line(command: str) -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average at the end {load}; command: `{command}`"
    )


def time_generation(spec: CohortSpec, workers: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        generate_cohort(spec, out_dir=Path(tmp) / "c", num_workers=workers, progress=False)
        return time.perf_counter() - start


def compare_anatomies(n: int, repeats: int, out: str) -> None:
    """Template vs six real anatomies, one process, alternating (ABAB...) so load hits both alike."""
    specs = {"default (template)": spec_for("default", n), "anatomies (6 donors)": spec_for("anatomies", n)}
    first = time_generation(specs["anatomies (6 donors)"], 1)  # builds the donors' interiors (cached)
    times: dict[str, list[float]] = {name: [] for name in specs}
    for _ in range(repeats):
        for name, spec in specs.items():
            times[name].append(time_generation(spec, 1))
            print(name, f"{times[name][-1]:.1f} s", flush=True)
    best = {name: min(t) for name, t in times.items()}
    ratio = best["anatomies (6 donors)"] / best["default (template)"]
    shape = "x".join(map(str, specs["default (template)"].shape))
    lines = [
        machine_line(f"python benchmarks/bench_generate.py --anatomies --n-anatomies {n}"),
        "",
        f"{n} subjects, {shape} at 2 mm, strong bias, 1 process, best of {repeats} alternating passes:",
        "",
        "| cohort | seconds (best) | subjects/s |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {t:.1f} | {n / t:.2f} |" for name, t in best.items()]
    lines += [
        "",
        f"Anatomies / template time: **{ratio:.2f}x**. The first anatomies pass, which also builds the six",
        f"donors' interiors once per process, took {first:.1f} s ({first - best['anatomies (6 donors)']:.1f} s more).",
        "On a loaded machine (see the load average) the seconds run long; the ratio is what carries over.",
    ]
    write_doc(out, lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-default", type=int, default=200)
    parser.add_argument("--n-paper", type=int, default=20)
    parser.add_argument("--anatomies", action="store_true", help="time cohort=anatomies against the template")
    parser.add_argument("--n-anatomies", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.anatomies:
        compare_anatomies(
            args.n_anatomies, args.repeats, args.out or str(REPO / "docs/benchmarks/generate_anatomies.md")
        )
        return
    cores = resolve_workers("auto")
    rows = []
    for cohort, n in (("default", args.n_default), ("paper", args.n_paper)):
        spec = spec_for(cohort, n)
        for workers in sorted({1, cores}):
            seconds = time_generation(spec, workers)
            rows.append((cohort, "x".join(map(str, spec.shape)), spec.spacing_mm, n, workers, seconds, n / seconds))
            print(rows[-1], flush=True)
    lines = [
        machine_line("python benchmarks/bench_generate.py"),
        "",
        "| cohort | shape | spacing (mm) | subjects | processes | seconds | subjects/s |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {c} | {s} | {sp:g} | {n} | {w} | {t:.1f} | {r:.2f} |" for c, s, sp, n, w, t, r in rows]
    write_doc(args.out or str(REPO / "docs/benchmarks/generate.md"), lines)


if __name__ == "__main__":
    main()
