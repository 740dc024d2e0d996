"""AL benchmarks: pool-scoring throughput vs the bare forward pass, and scoring memory vs pool size.

    python benchmarks/bench_al.py [--out docs/benchmarks/al.md]

1. Throughput: the default U-Net (conf/model/unet.yaml) on batches of the default volume
   size (24x32x32). "bare" is ``net(x)`` under ``inference_mode``; "scoring" is what the AL
   callback runs (softmax, masked entropy, reduction to one number per image), on the same
   batches. Repeated, interleaved, best of N.
2. Memory: each pool size runs in a fresh subprocess whose images are made on the fly (so
   the data cache does not count); after a warm-up on one batch, the process's peak RSS
   before and after scoring the whole pool is reported: equal peaks mean scoring a pool
   of any size needs no more memory than scoring one batch.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from _common import write_doc
from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parents[1]
SHAPE = (24, 32, 32)


def build_module(dropout: float = 0.0):
    """The default network of conf/model/unet.yaml, in eval mode, predicting whole volumes."""
    import hydra

    from fair_seg_al.model import SegmentationModule

    cfg = OmegaConf.load(REPO / "conf/model/unet.yaml")
    cfg.roi_size = None  # the config takes it from data.patch_size (null by default): whole volumes
    cfg.net.dropout = dropout
    module: SegmentationModule = hydra.utils.instantiate(cfg)
    return module.eval()


class OnTheFly(torch.utils.data.Dataset):
    """Pool of ``n`` random volumes made when asked for (no cache)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(i)
        return {
            "image": torch.randn(1, *SHAPE, generator=g),
            "label": torch.zeros(1, *SHAPE, dtype=torch.long),
            "id": f"s{i}",
            "group": "A",
        }


def throughput(n_images: int = 160, batch: int = 8, repeats: int = 5) -> dict:
    from fair_seg_al.al.inference import score_images
    from fair_seg_al.strategies import WeightedEntropyStrategy

    module = build_module()
    loader = torch.utils.data.DataLoader(OnTheFly(n_images), batch_size=batch)
    batches = [b for b in loader]  # materialised: both timings see the same tensors, no loading cost
    strategy = WeightedEntropyStrategy()
    bare, scored = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        with torch.inference_mode():
            for b in batches:
                module(b["image"])
        bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        score_images(module, batches, strategy)
        scored.append(time.perf_counter() - start)
    return {
        "images": n_images,
        "batch": batch,
        "bare_img_s": n_images / min(bare),
        "score_img_s": n_images / min(scored),
        "ratio": min(bare) / min(scored),
    }


def memory_child(n: int) -> None:
    from fair_seg_al.al.inference import score_images
    from fair_seg_al.strategies import MaskedEntropyStrategy

    module = build_module()
    loader = torch.utils.data.DataLoader(OnTheFly(n), batch_size=8)
    score_images(module, torch.utils.data.DataLoader(OnTheFly(8), batch_size=8), MaskedEntropyStrategy())  # warm up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ids, scores = score_images(module, loader, MaskedEntropyStrategy())
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert len(scores) == n
    print(f"{n} {before} {after}")


def memory(sizes=(100, 400, 1600)) -> list[tuple[int, float, float]]:
    rows = []
    for n in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(n)], capture_output=True, text=True, check=True
        ).stdout.split()
        _, before, after = map(int, out[-3:])
        rows.append((n, before / 1024, after / 1024))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(REPO / "docs/benchmarks/al.md"))
    parser.add_argument("--memory-child", type=int)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    t = throughput()
    print(t, flush=True)
    m = memory()
    print(m, flush=True)
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; command: `python benchmarks/bench_al.py`",
        "",
        f"Pool scoring vs bare forward (default U-Net, {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]}, batch {t['batch']}, "
        f"{t['images']} images, best of 5):",
        "",
        "| bare forward (img/s) | scoring (img/s) | scoring / bare |",
        "|---|---|---|",
        f"| {t['bare_img_s']:.1f} | {t['score_img_s']:.1f} | {t['ratio']:.2f} |",
        "",
        "Peak memory while scoring pools of growing size (images made on the fly, fresh process each):",
    ]
    write_doc(args.out, lines + memory_table(m))


def memory_table(rows: list[tuple[int, float, float]]) -> list[str]:
    """Markdown lines of a peak-memory table from :func:`memory`'s rows."""
    lines = [
        "",
        "| pool size | peak RSS before scoring (MiB) | peak RSS after scoring (MiB) | growth (MiB) |",
        "|---|---|---|---|",
    ]
    return lines + [f"| {n} | {b:.1f} | {a:.1f} | {a - b:.1f} |" for n, b, a in rows]


if __name__ == "__main__":
    main()
