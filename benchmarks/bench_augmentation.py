"""Training steps with augmentation off, per sample in TorchIO, and batched on tensors.

    python benchmarks/bench_augmentation.py [--steps 40] [--repeats 3] [--threads 1] [--out docs/benchmarks/augmentation.md]

The default network and batch (4 volumes of 24x32x32 voxels, the default cohort's 2 mm grid)
and the powered preset's augmentation ranges. Each mode runs ``--steps`` full training steps
(loading and augmenting the batch, forward, backward, Adam) from the same weights; the modes
are interleaved ``--repeats`` times so that a drift in machine load hits all alike, and the
medians are compared as ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from _common import write_doc
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, RandomSampler

from fair_seg_al.data.datamodule import CachedVolumes, build_augmentation, build_batch_augmentation
from fair_seg_al.utils.machine import vector_isa

REPO = Path(__file__).resolve().parents[1]
SHAPE = (24, 32, 32)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "docs/benchmarks/augmentation.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    store = {}
    for i in range(16):
        label = torch.zeros(1, *SHAPE, dtype=torch.long)
        label[:, 8:14, 10:18, 12:20] = 1
        store[f"s{i}"] = (torch.randn(1, *SHAPE, generator=g), label)
    groups = dict.fromkeys(store, "A")
    cfg = dict(OmegaConf.to_container(OmegaConf.load(REPO / "conf/data/default.yaml").augmentation), enabled=True)
    model_cfg = OmegaConf.load(REPO / "conf/model/unet.yaml")
    model_cfg.roi_size = None
    torch.manual_seed(0)
    module = instantiate(model_cfg)
    start_state = {k: v.clone() for k, v in module.state_dict().items()}

    def run(mode: str) -> float:
        module.load_state_dict(start_state)
        module.train()
        opt = module.configure_optimizers()
        opt = opt["optimizer"] if isinstance(opt, dict) else opt
        tio_aug = build_augmentation({**cfg, "implementation": "torchio"}) if mode == "torchio" else None
        interpolation = "linear_threshold" if mode == "batched_threshold" else "nearest"
        batched = (
            build_batch_augmentation(
                {**cfg, "implementation": "batched", "label_interpolation": interpolation}, (2.0, 2.0, 2.0)
            )
            if mode.startswith("batched")
            else None
        )
        sampler = RandomSampler(
            range(16), replacement=True, num_samples=4 * args.steps, generator=torch.Generator().manual_seed(1)
        )
        volumes = CachedVolumes(store, list(store), groups, tio_aug, spacing=(2.0, 2.0, 2.0))
        loader = DataLoader(volumes, batch_size=4, sampler=sampler)
        rng = torch.Generator().manual_seed(2)
        start = time.perf_counter()
        for batch in loader:
            image, label = batch["image"], batch["label"]
            if batched is not None:
                t0 = time.perf_counter()
                image, label = batched(image, label, rng)
                if mode == "batched":
                    augment_s.append(time.perf_counter() - t0)
            loss = module.loss(module(image), label)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return (time.perf_counter() - start) / args.steps

    augment_s: list[float] = []  # the default batched call (nearest labels) only
    modes = ["off", "torchio", "batched", "batched_threshold"]
    times: dict[str, list[float]] = {m: [] for m in modes}
    run("off")  # warm-up
    for _ in range(args.repeats):
        for m in modes:
            times[m].append(run(m))
    med = {m: statistics.median(v) for m, v in times.items()}
    lines = [
        f"Machine: {platform.machine()} ({vector_isa()}), {os.cpu_count()} cores, torch {torch.__version__}, {args.threads} thread(s); "
        f"`python benchmarks/bench_augmentation.py --steps {args.steps} --repeats {args.repeats}`. The default U-Net, "
        f"batches of 4 volumes of {SHAPE} voxels, the powered preset's augmentation; medians of {args.repeats} "
        "interleaved runs.",
        "",
        "| augmentation | ms per training step | vs off |",
        "|---|---|---|",
        *[f"| {m} | {1000 * med[m]:.1f} | x{med[m] / med['off']:.2f} |" for m in modes],
        "",
        f"The batched augmentation call itself: {1000 * statistics.median(augment_s):.1f} ms per batch (median).",
        "",
        "`batched` resamples the label by nearest neighbour in a second `grid_sample` pass (the default since "
        "issue 32: it keeps each group's label volume, docs/audit.md); `batched_threshold` is the eroding "
        "pre-#32 scheme (`label_interpolation: linear_threshold`: the label as a second channel of the image's "
        "trilinear pass, cut at 0.5), timed beside it for the cost of the fix. `torchio` is given the volumes' "
        "2 mm spacing (translation in mm, as in training).",
    ]
    write_doc(args.out, lines)


if __name__ == "__main__":
    main()
