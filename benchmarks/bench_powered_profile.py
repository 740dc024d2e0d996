"""Where a powered run's time goes: one run of the powered preset, profiled round by round.

    python benchmarks/bench_powered_profile.py [--implementations torchio,batched,off] [--out docs/benchmarks/profile.md]

Runs ``python -m fair_seg_al.main experiment=sweep_powered`` as its sweep runs a job (strong
bias, imbalanced start, seed 0, Weighted Entropy, one thread, W&B offline) once per augmentation
setting, with Lightning's simple profiler on, and splits the wall time into: start-up and
cohort loading (wall time minus the rounds), the training loop's data loading (with TorchIO
augmentation, if that is the implementation), batched augmentation, forward, backward,
optimiser, and the round's evaluation, estimation and pool scoring (``rounds.csv``).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import write_doc

from fair_seg_al.analysis.runs import finished_rounds

REPO = Path(__file__).resolve().parents[1]
ACTIONS = {
    "data (+ TorchIO)": "[_TrainingEpochLoop].train_dataloader_next",
    "batched augmentation": "[LightningDataModule]ALDataModule.on_after_batch_transfer",
    "forward + loss": "[Strategy]SingleDeviceStrategy.training_step",
    "backward": "[Strategy]SingleDeviceStrategy.backward",
    "optimizer step (incl. forward, backward)": "[LightningModule]SegmentationModule.optimizer_step",
}
ROUND = {"evaluation": "seconds_evaluate", "estimation": "seconds_estimate", "pool scoring": "seconds_score"}


def profile(implementation: str, root: Path) -> dict[str, float]:
    aug = (
        ["data.augmentation.enabled=false"]
        if implementation == "off"
        else [f"data.augmentation.implementation={implementation}"]
    )
    run_dir = root / f"run-{implementation}"
    cmd = [sys.executable, "-m", "fair_seg_al.main", "experiment=sweep_powered", "strategy=weighted_entropy", "bias=strong",
           "init=imbalanced", "seed=0", "num_threads=1", "+trainer.profiler=simple", "resume=false",
           f"hydra.run.dir={run_dir}", *aug]  # fmt: skip
    env = {**os.environ, "FAIR_SEG_AL_ROOT": str(REPO), "WANDB_DIR": str(root)}
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    totals = dict.fromkeys(ACTIONS, 0.0)
    for line in (out.stdout + out.stderr).splitlines():
        for name, action in ACTIONS.items():
            if line.strip().startswith(f"|  {action}"):
                totals[name] += float(re.split(r"\s*\|\s*", line.strip())[4])
    rounds = finished_rounds(run_dir)
    row = {"wall": wall, **totals}
    row["optimizer step (incl. forward, backward)"] -= totals["forward + loss"] + totals["backward"]
    row = {("optimizer (Adam)" if k.startswith("optimizer step") else k): v for k, v in row.items()}
    for name, col in ROUND.items():
        row[name] = float(rounds[col].fillna(0).sum()) if col in rounds else 0.0
    row["training (Lightning's fit)"] = float(rounds["seconds_train"].sum())
    row["start-up, cohort loading, W&B, state files"] = wall - float(
        rounds[[c for c in ("seconds_train", *ROUND.values()) if c in rounds]].fillna(0).sum().sum()
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--implementations", default="torchio,batched,off")
    parser.add_argument("--out", default=str(REPO / "docs/benchmarks/profile.md"))
    args = parser.parse_args()
    modes = args.implementations.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        rows = {m: profile(m, Path(tmp)) for m in modes}
    keys = list(next(iter(rows.values())))
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; one thread, as the sweep runs a job; "
        f"`python benchmarks/bench_powered_profile.py --implementations {args.implementations}`. One run of "
        "`experiment=sweep_powered` (strong, imbalanced start, seed 0, `weighted_entropy`, 9 rounds of 250 steps), "
        "per augmentation setting, one after another. Seconds over the whole run.",
        "",
        "| part | " + " | ".join(f"augmentation {m}" for m in modes) + " |",
        "|---|" + "---|" * len(modes),
        *[f"| {k} | " + " | ".join(f"{rows[m][k]:.1f}" for m in modes) + " |" for k in keys],
    ]
    if "off" in rows:
        lines += [
            "",
            "Wall time against augmentation off: "
            + ", ".join(f"{m} x{rows[m]['wall'] / rows['off']['wall']:.2f}" for m in modes if m != "off")
            + ".",
        ]
    write_doc(args.out, lines)


if __name__ == "__main__":
    main()
