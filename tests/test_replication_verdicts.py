"""The powered replication's verdict rules (sweeps/replication_report.py) on hand-made per-seed metrics."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

SPEC = importlib.util.spec_from_file_location(
    "replication_report", Path(__file__).resolve().parents[1] / "sweeps" / "replication_report.py"
)
rr = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(rr)


def metrics(per_strategy: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    rows = []
    for strategy, cols in per_strategy.items():
        for seed in range(4):
            rows.append({"strategy": strategy, "seed": seed, **{k: v[seed] for k, v in cols.items()}})
    return pd.DataFrame(rows)


def const(**values):
    return {k: [v] * 4 for k, v in values.items()}


BASE = dict(disparity=0.2, es_dice=0.7, acquired_share=0.5, worst_dice=0.7, auc_worst_dice=0.6)


def test_each_claim_by_hand():
    m = metrics(
        {
            "entropy": const(**BASE | dict(acquired_share=0.3)),
            "masked_entropy": const(**BASE),
            "random": const(**BASE),
            "stratified_random": const(**BASE),
            "composition_control": const(**BASE | dict(es_dice=0.9)),  # a control: never a rival in (b)
            # halves entropy's disparity in every seed; best ES-Dice; worst group +0.05 over stratified
            "weighted_entropy": const(**BASE | dict(disparity=0.1, es_dice=0.8, worst_dice=0.75)),
        }
    )
    text = "\n".join(rr.verdicts(m, "strong", "imbalanced"))
    assert "reduction +50 % [+50, +50]" in text and "The paper's 75 % is outside this interval" in text
    assert "(b) Weighted Entropy has the highest ES-Dice:** holds" in text
    assert "composition_control" not in text.split("(b)")[1].split("\n")[0]
    # masked's B share is resolved above entropy's (+0.2 in every seed) and equal to random's
    assert "removes entropy's volume effect:** yes" in text
    assert "beat `stratified_random` on worst-group Dice?** yes, at the final budget: `weighted_entropy`" in text


def test_noisy_differences_are_not_claims():
    noisy = {"disparity": [0.1, 0.3, 0.1, 0.3], "es_dice": [0.8, 0.6, 0.8, 0.6], "worst_dice": [0.75, 0.65, 0.75, 0.65]}
    m = metrics(
        {
            "entropy": const(**BASE),
            "masked_entropy": const(**BASE),  # same share as entropy: the volume effect is not removed
            "random": const(**BASE),
            "stratified_random": const(**BASE),
            "weighted_entropy": const(**BASE) | noisy,  # +-0.1 around the others: mean 0, within noise
        }
    )
    text = "\n".join(rr.verdicts(m, "weak", "balanced"))
    assert "within noise" in text and "does not hold" in text
    assert "volume effect:** no" in text
    assert "no resolved gain at the final budget" in text
