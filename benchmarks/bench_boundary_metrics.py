"""What the boundary metrics (NSD, HD95) add to a round's evaluation.

    python benchmarks/bench_boundary_metrics.py [--subjects 220] [--repeats 5] [--out docs/benchmarks/boundary.md]

Generates the default cohort (2 mm, 24x32x32 voxels, strong bias) with a test set of 100 per
group into a temporary folder, then evaluates one default U-Net (the same weights) on the test
set with Dice only and with Dice + NSD + HD95, interleaved, ``--repeats`` times each, and
reports seconds per evaluation and their ratio. A round of the default job trains for far
longer than it evaluates (``rounds.csv``: ``seconds_train``), which the table sets beside it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
from _common import write_doc
from hydra.utils import instantiate
from omegaconf import OmegaConf

from fair_seg_al.al.evaluation import MetricSettings, evaluate_groups
from fair_seg_al.cohort import CohortSpec, generate_cohort
from fair_seg_al.data.datamodule import ALDataModule

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subjects", type=int, default=220)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "docs/benchmarks/boundary.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    spec = CohortSpec.from_config(
        OmegaConf.merge(OmegaConf.load(REPO / "conf/cohort/default.yaml"), {"n_subjects": args.subjects}),
        OmegaConf.load(REPO / "conf/bias/strong.yaml"),
    )
    with tempfile.TemporaryDirectory() as tmp:
        cohort = generate_cohort(spec, out_dir=Path(tmp) / "cohort", num_workers=1, progress=False)
        dm = ALDataModule(str(cohort), test_per_group=100, val_per_group=0)
        dm.setup()
        torch.manual_seed(0)
        model_cfg = OmegaConf.load(REPO / "conf/model/unet.yaml")
        model_cfg.roi_size = None  # whole volumes, as the default job predicts them
        module = instantiate(model_cfg).eval()
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeats):
            for surface in (False, True):  # interleaved: load drifts hit both alike
                start = time.perf_counter()
                evaluate_groups(module, dm, MetricSettings(surface=surface))
                times[surface].append(time.perf_counter() - start)
    dice_s, both_s = statistics.median(times[False]), statistics.median(times[True])
    n = len(dm.split["test"])
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {args.threads} thread(s); "
        f"`python benchmarks/bench_boundary_metrics.py --repeats {args.repeats}`. Default U-Net, {n} test images "
        f"of {tuple(dm.volume_shape)} voxels, medians of {args.repeats} interleaved evaluations.",
        "",
        "| evaluation | seconds | images/s |",
        "|---|---|---|",
        f"| Dice only | {dice_s:.2f} | {n / dice_s:.0f} |",
        f"| Dice + NSD + HD95 | {both_s:.2f} | {n / both_s:.0f} |",
        "",
        f"Ratio: x{both_s / dice_s:.2f}; NSD and HD95 add {both_s - dice_s:.2f} s per evaluation "
        f"({1000 * (both_s - dice_s) / n:.1f} ms per image).",
    ]
    write_doc(args.out, lines)


if __name__ == "__main__":
    main()
