"""One training step of the default U-Net under precision and memory-format variants.

    python benchmarks/bench_train_step.py            # writes docs/benchmarks/train_step.md
    python benchmarks/bench_train_step.py --interleaved   # fp32 layouts only, alternating blocks, one thread:
                                                          # writes docs/benchmarks/memory_format_interleaved.md

Times forward + DiceCE loss + backward + Adam step of the default network (conf/model/unet.yaml)
on a batch of 4 default volumes (24x32x32), median of repeated steps after a warm-up, for
fp32 / channels_last_3d / bf16 autocast / both, with 1 and 2 torch threads. It also reports
how far bf16 moves the loss from fp32 on the same batch. Speed is measured here, never asserted
in tests.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from monai.losses import DiceCELoss
from monai.networks.nets import UNet

from fair_seg_al.utils.io import atomic_write_text
from fair_seg_al.utils.machine import vector_isa

DOCS = Path(__file__).resolve().parents[1] / "docs"
SHAPE = (4, 1, 24, 32, 32)


def make_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return UNet(3, 1, 2, channels=(8, 16, 32, 64), strides=(2, 2, 2), num_res_units=2)


def batch():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(SHAPE, generator=g)
    y = (torch.rand(SHAPE, generator=g) > 0.9).long()
    return x, y


def time_steps(channels_last: bool, bf16: bool, threads: int, steps: int = 30, warmup: int = 5) -> tuple[float, float]:
    """(median ms per step, loss of the first step)."""
    torch.set_num_threads(threads)
    net, loss_fn = make_net(), DiceCELoss(to_onehot_y=True, softmax=True)
    x, y = batch()
    if channels_last:
        net = net.to(memory_format=torch.channels_last_3d)
        x = x.contiguous(memory_format=torch.channels_last_3d)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    times, first = [], None
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = net(x)
        loss = loss_fn(out.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if first is None:
            first = float(loss)
        if i >= warmup:
            times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times), first


def bf16_native() -> bool:
    """Whether oneDNN reports native bf16 on this CPU (AVX-512 BF16 / AMX); without it bf16 is emulated."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def interleaved(blocks: int = 12, steps: int = 8) -> None:
    """Standard layout and channels_last_3d in alternating blocks of steps (one thread, as a
    sweep job runs), so both see the same load: the ratio of each block pair, and their median."""
    ratios, ms = [], {False: [], True: []}
    for b in range(blocks):
        pair = {}
        for cl in (False, True) if b % 2 == 0 else (True, False):  # alternate which goes first
            pair[cl] = time_steps(cl, False, threads=1, steps=steps, warmup=2)[0]
            ms[cl].append(pair[cl])
        ratios.append(pair[False] / pair[True])
        print(f"block {b}: standard {pair[False]:.1f} ms, channels_last {pair[True]:.1f} ms, x{ratios[-1]:.2f}")
    q = statistics.quantiles(ratios, n=4)
    lines = [
        f"Machine: {platform.machine()}, vector ISA {vector_isa()}, torch {torch.__version__}; one thread; "
        "command: `python benchmarks/bench_train_step.py --interleaved`",
        "",
        f"One fp32 training step of the default U-Net (batch 4, 24x32x32), standard layout against channels_last_3d, "
        f"{blocks} alternating blocks of {steps} steps (median per block).",
        "",
        "| | standard layout | channels_last_3d |",
        "|---|---|---|",
        f"| ms / step, median over blocks | {statistics.median(ms[False]):.1f} | {statistics.median(ms[True]):.1f} |",
        "",
        f"Speed-up of channels_last_3d (standard / channels_last, per block pair): median x{statistics.median(ratios):.2f}, "
        f"quartiles x{q[0]:.2f}-x{q[2]:.2f}, range x{min(ratios):.2f}-x{max(ratios):.2f}.",
    ]
    atomic_write_text(DOCS / "benchmarks/memory_format_interleaved.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    if "--interleaved" in sys.argv[1:]:
        interleaved()
        return
    rows = []
    for threads in (1, 2):
        base = None
        for name, cl, bf in (
            ("fp32", False, False),
            ("channels_last_3d", True, False),
            ("bf16 autocast", False, True),
            ("bf16 + channels_last_3d", True, True),
        ):
            ms, loss = time_steps(cl, bf, threads)
            base = base or (ms, loss)
            rows.append((threads, name, ms, base[0] / ms, loss - base[1]))
            print(
                f"{threads} thread(s) {name:26s} {ms:7.1f} ms/step  x{base[0] / ms:.2f}  loss diff {loss - base[1]:+.4f}"
            )
    lines = [
        f"Machine: {platform.machine()}, {torch.get_num_threads()} threads available, torch {torch.__version__}, "
        f"native bf16 (oneDNN): {bf16_native()}; command: `python benchmarks/bench_train_step.py`",
        "",
        "One training step of the default U-Net (batch 4, 24x32x32), median of 30 steps after 5 warm-up steps.",
        "",
        "| threads | variant | ms / step | speed-up vs fp32 | first-step loss minus fp32's |",
        "|---|---|---|---|---|",
    ] + [f"| {t} | {n} | {ms:.1f} | x{sp:.2f} | {d:+.4f} |" for t, n, ms, sp, d in rows]
    atomic_write_text(DOCS / "benchmarks/train_step.md", "\n".join(lines) + "\n")
    print(DOCS / "benchmarks/train_step.md")


if __name__ == "__main__":
    main()
