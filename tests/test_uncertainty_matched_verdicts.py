"""The deconfounded uncertainty comparison's verdicts on hand-made per-seed metrics."""

from __future__ import annotations

import pandas as pd
from studies import uncertainty_matched as um


def frame(per_strategy: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    rows = []
    for strategy, cols in per_strategy.items():
        for seed in range(12):
            rows.append({"strategy": strategy, "seed": seed, **{k: v[seed] for k, v in cols.items()}})
    return pd.DataFrame(rows)


def test_the_mix_does_the_work_and_quality_is_unresolved():
    noise = [0.01, -0.01] * 6  # mean 0: a score no better than its matched twin
    base = {"worst_dice": [0.80] * 12, "disparity": [0.10] * 12, "acquired_share": [0.3] * 12}
    mixed = {"worst_dice": [0.82] * 12, "disparity": [0.07] * 12, "acquired_share": [0.5] * 12}
    m = frame(
        {
            "masked_entropy": base,
            "masked_entropy.matched_mc_bald": mixed,
            "mc_bald": {
                "worst_dice": [0.82 + e for e in noise],
                "disparity": [0.07 - e for e in noise],
                "acquired_share": [0.5] * 12,
            },
        }
    )
    text = "\n".join(um.verdicts(m))
    assert "Planned family: 4 tests, Holm-adjusted." in text
    quality = next(line for line in text.splitlines() if line.startswith("- **`mc_bald` minus"))
    mix = next(line for line in text.splitlines() if line.startswith("- **`masked_entropy.matched_mc_bald` minus"))
    assert "worst_dice: unresolved (+0.000" in quality and "disparity: unresolved" in quality
    assert "Per seed, final disparity lower in 6 of 12 seeds." in quality
    assert "worst_dice: resolved better (+0.020" in mix and "disparity: resolved better (-0.030" in mix
    assert "12 seeds" in mix and "interim" not in mix
