"""Size the minority cell's rerun on the audited instrument (issue 33) with the seed planner.

    python sweeps/plan_minority_rerun.py     # writes docs/planning/minority_rerun.md

Pilot: the committed minority cell (12 seeds, eroding label resampling), its paired SDs of
worst-group Dice (final and AUC) of each decisive rule against ``stratified_random``, from
docs/replication/sweep_powered_minority/paired.csv. From the balanced start composition_control
is stratified_random by construction (SD 0): no test. The family holds each comparison's
difference test and its equivalence test (TOST), Holm-adjusted together.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fair_seg_al.analysis.planner import markdown, plan  # noqa: E402
from fair_seg_al.utils.io import atomic_write_text  # noqa: E402

PAIRED = ROOT / "docs" / "replication" / "sweep_powered_minority" / "paired.csv"
OUT = ROOT / "docs" / "planning" / "minority_rerun.md"
RULES = {
    "composition_control": "composition_control",
    "masked_entropy.stratified_power": "candidate",
    "weighted_entropy": "weighted_entropy",
    "masked_entropy": "masked_entropy",
    "oracle_weighted_entropy.oracle.quota (oracle control)": "oracle (control)",
}
METRICS = {"worst_dice": "final", "auc_worst_dice": "AUC"}
EFFECT, MARGIN, POWER = 0.005, 0.01, 0.8


def pilot_sds() -> dict[str, float]:
    p = pd.read_csv(PAIRED)
    p = p[(p["reference"] == "stratified_random") & p["strategy"].isin(RULES) & p["metric"].isin(METRICS)]
    sds = {}
    for r in p.sort_values(["init", "metric", "strategy"]).itertuples():
        if r.paired_sd > 0:  # composition_control from the balanced start is the reference itself
            sds[f"{RULES[r.strategy]}, {r.init}, {METRICS[r.metric]}"] = float(r.paired_sd)
    return sds


def main() -> None:
    sds = pilot_sds()
    family = 2 * len(sds)  # a difference test and a TOST per comparison, one Holm family
    rows, cell = plan(sds, EFFECT, MARGIN, family, POWER)
    text = "\n".join(
        [
            "# Seeds for the minority cell's rerun (issue 33): the planner's table",
            "",
            "Produced by: `python sweeps/plan_minority_rerun.py` (the seed planner, "
            "`python -m fair_seg_al.analysis.planner`). Pilot: the committed minority cell's paired SDs over 12 seeds "
            "(worst-group Dice against `stratified_random`, trained with the eroding label resampling: the audited "
            f"instrument's SDs may differ). {len(sds)} comparisons, each with a difference test and a TOST: a Holm "
            f"family of {family}. A proposal for the rerun's plan, not the plan: the margin and the family are the "
            "plan's to declare.",
            "",
            markdown(rows, EFFECT, MARGIN, family, POWER, 0.05),
        ]
    )
    atomic_write_text(OUT, text)
    print(text)


if __name__ == "__main__":
    main()
