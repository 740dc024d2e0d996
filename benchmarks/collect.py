"""Assemble docs/benchmarks.md, the one benchmarks page, from the fragments each benchmark script writes into docs/benchmarks/."""

from __future__ import annotations

from pathlib import Path

from fair_seg_al.utils.io import atomic_write_text

DOCS = Path(__file__).resolve().parents[1] / "docs"
PARTS = [
    ("Cohort generation speed", "benchmarks/generate.md", "benchmarks/bench_generate.py"),
    (
        "Cohort generation: six real anatomies vs the template",
        "benchmarks/generate_anatomies.md",
        "benchmarks/bench_generate.py --anatomies",
    ),
    (
        "Cohort generation: six real anatomies vs the template, with the issue-32 generator",
        "benchmarks/generate_anatomies_t1.md",
        "benchmarks/bench_generate.py --anatomies --out docs/benchmarks/generate_anatomies_t1.md",
    ),
    ("Pool scoring: throughput and memory", "benchmarks/al.md", "benchmarks/bench_al.py"),
    ("Multi-pass scoring: MC dropout and TTA", "benchmarks/uncertainty.md", "benchmarks/bench_uncertainty.py"),
    ("Where a round's time goes", "benchmarks/rounds.md", "benchmarks/bench_rounds.py"),
    ("One training step: precision and memory format", "benchmarks/train_step.md", "benchmarks/bench_train_step.py"),
    ("The default job with channels-last", "benchmarks/memory_format.md", "benchmarks/bench_memory_format_job.py"),
    (
        "Channels-last, interleaved: one training step on this machine's vector ISA",
        "benchmarks/memory_format_interleaved.md",
        "benchmarks/bench_train_step.py --interleaved",
    ),
    ("A whole sweep: `experiment=sweep_cpu` before and after", "benchmarks/sweep.md", "benchmarks/bench_sweep.py"),
    ("Several jobs on one GPU", "benchmarks/gpu_packing.md", "benchmarks/bench_gpu_packing.py"),
    (
        "Training augmentation: TorchIO per sample vs batched tensors",
        "benchmarks/augmentation.md",
        "benchmarks/bench_augmentation.py",
    ),
    (
        "Training augmentation on an AVX-512 machine (measured before issue 32: batched labels thresholded, no nearest pass)",
        "benchmarks/augmentation_avx512.md",
        "benchmarks/bench_augmentation.py --out docs/benchmarks/augmentation_avx512.md",
    ),
    ("A powered run's profile", "benchmarks/profile.md", "benchmarks/bench_powered_profile.py"),
    (
        "Whole powered runs side by side: augmentation settings, quality and time",
        "benchmarks/augmentation_runs.md",
        "benchmarks/bench_augmentation_runs.py --report",
    ),
    ("Boundary metrics: the cost of NSD and HD95", "benchmarks/boundary.md", "benchmarks/bench_boundary_metrics.py"),
    (
        "Local launcher: the card's multirun, side by side vs one after another",
        "benchmarks/local_launcher.md",
        "benchmarks/bench_local_launcher.py",
    ),  # fmt: skip
    ("Full resolution: a whole-brain-size cohort on patches", "benchmarks/patches.md", "benchmarks/bench_patches.py"),
    (
        "Group-performance estimation: seconds and labels per round",
        "estimators/cost.md",
        "benchmarks/estimator_benchmark.py report docs/estimators/runs --out docs/estimators",
    ),
    (
        "Label-free group estimation (issue 34): seconds per round",
        "estimators/label_free/cost.md",
        "benchmarks/estimator_benchmark.py report docs/estimators/label_free/runs --out docs/estimators/label_free",
    ),
]


def main() -> None:
    out = [
        "# Benchmarks",
        "",
        "Regenerate with `make bench` (each script also runs alone). Timings are from the "
        "machine named in each section; speed is measured here, never asserted in tests.",
        "",
    ]
    for title, name, script in PARTS:
        path = DOCS / name
        body = path.read_text().strip() if path.is_file() else f"(not run yet: `python {script}`)"
        out += [f"## {title}", "", body, ""]
    atomic_write_text(DOCS / "benchmarks.md", "\n".join(out))
    print(DOCS / "benchmarks.md")


if __name__ == "__main__":
    main()
