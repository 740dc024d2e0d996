"""The recommendation rule (sweeps/studies/recommendation.py) on hand-made per-seed metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
from studies import recommendation as rec

from fair_seg_al.analysis.stats import holm

NOISE = np.array([0.001, -0.001, 0.002, -0.002, 0.0005, -0.0005])  # mean 0: never resolved


def _metrics(cheap_dip: np.ndarray, dear_dip: np.ndarray) -> pd.DataFrame:
    rows = []
    for init in ("balanced", "imbalanced"):
        for seed in range(6):
            base = 0.80 + 0.01 * seed
            for s, dip in (("best", 0.0), ("cheap", cheap_dip[seed]), ("dear", dear_dip[seed])):
                d = dip if init == "balanced" else 0.0
                noise = 0.0 if s == "best" else NOISE[seed]
                rows.append({"init": init, "strategy": s, "seed": seed, "worst_dice": base - d + noise,
                             "auc_worst_dice": base + noise})  # fmt: skip
    return pd.DataFrame(rows)


def test_a_small_unadjusted_difference_does_not_survive_holm_a_large_one_does():
    # "cheap" is behind "best" by 0.003-0.008 (+-0.002 noise) in one start x metric: resolved without
    # adjustment (t p ~ 0.01), not after Holm over the 8 comparisons with the best (x 7); "dear" (0.05) survives.
    small = np.array([0.004, 0.006, 0.003, 0.008, 0.005, 0.004])
    m = _metrics(cheap_dip=small, dear_dip=np.full(6, 0.05) + NOISE)
    chosen, table = rec.decide(m, ["cheap", "dear", "best"])
    row = table[(table["strategy"] == "cheap") & (table["init"] == "balanced") & (table["metric"] == "worst_dice")]
    assert not row["tied"].item()  # the first version excludes it
    dear = table[(table["strategy"] == "dear") & (table["init"] == "balanced") & (table["metric"] == "worst_dice")]
    assert not dear["tied_holm"].item()  # 0.05 in every seed survives the adjustment
    # Holm: p_(i) * (m - i + 1), monotone; the adjusted p is never below the raw one
    rival = table[table["strategy"] != table["best"]]
    assert (rival["p_holm"] >= rival["t_p"] - 1e-12).all()
    assert row["t_p"].item() < 0.05 < row["p_holm"].item() and row["tied_holm"].item()
    assert chosen == "cheap"  # the cheapest candidate Holm cannot tell from the best
    assert rec.first_passing(table, ["cheap", "dear", "best"], "tied") == "best"


def test_the_best_against_itself_is_no_test_and_not_in_the_holm_family():
    # 2 starts x 2 metrics x 3 candidates = 12 rows; 4 are the best minus itself (0 by construction)
    small = np.array([0.004, 0.006, 0.003, 0.008, 0.005, 0.004])
    m = _metrics(cheap_dip=small, dear_dip=np.full(6, 0.05) + NOISE)
    _, table = rec.decide(m, ["cheap", "dear", "best"])
    own = table["strategy"] == table["best"]
    assert own.sum() == 4 and table.loc[own, "tied_holm"].all() and table.loc[own, "p_holm"].isna().all()
    # the family is the other 8: Holm over their t p-values alone
    expected = holm(table.loc[~own, "t_p"].to_numpy())
    assert np.allclose(table.loc[~own, "p_holm"].to_numpy(), expected)
