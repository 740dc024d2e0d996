"""Size a cell's rerun on the audited instrument (issue 33) with the seed planner.

    python sweeps/plan_rerun.py minority      # writes docs/planning/minority_rerun.md
    python sweeps/plan_rerun.py anatomies     # docs/planning/anatomies_rerun.md
    python sweeps/plan_rerun.py weak          # docs/planning/weak_rerun.md

Pilot: the committed cell (12 seeds, eroding label resampling), the paired SDs of its planned
comparisons from docs/replication/<cell>/paired.csv. A comparison whose SD is 0 (from the balanced
start composition_control is stratified_random by construction) is no test. The family holds each
comparison's difference test and its equivalence test (TOST), Holm-adjusted together.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fair_seg_al.analysis.planner import markdown, plan  # noqa: E402
from fair_seg_al.utils.io import atomic_write_text  # noqa: E402

ORACLE = "oracle_weighted_entropy.oracle.quota (oracle control)"
CANDIDATE = "masked_entropy.stratified_power"


@dataclass(frozen=True)
class Metric:
    column: str  # in paired.csv
    name: str  # in the table
    effect: float  # the difference to resolve
    margin: float  # the equivalence margin (+-)


@dataclass(frozen=True)
class Cell:
    title: str
    pilot: str  # docs/replication/<pilot>/paired.csv
    reference: str
    rules: dict[str, str]  # label in the runs -> name in the table
    metrics: list[Metric]
    inits: tuple[str, ...] = ("balanced", "imbalanced")
    borrowed: dict[tuple[str, str], tuple[float, str]] = field(default_factory=dict)  # (rule, metric) -> SD, source
    intro: str = ""
    matched: bool = False  # the plan's second family: the candidate and the oracle against composition_control


# the second family of the minority and six-brain plans: does a rule beat its composition-matched control?
MATCHED = {CANDIDATE: "candidate", ORACLE: "oracle (control)"}


DECISIVE = {  # the minority cell's decisive rules against the counts (run labels -> table names)
    "composition_control": "composition_control",
    CANDIDATE: "candidate",
    "weighted_entropy": "weighted_entropy",
    "masked_entropy": "masked_entropy",
    ORACLE: "oracle (control)",
}
WORST = [Metric("auc_worst_dice", "AUC", 0.005, 0.01), Metric("worst_dice", "final", 0.005, 0.01)]
CELLS = {
    "minority": Cell(
        "the minority cell's rerun",
        "sweep_powered_minority",
        "stratified_random",
        DECISIVE,
        WORST,
        matched=True,
        intro="the committed minority cell's paired SDs over 12 seeds (worst-group Dice against `stratified_random`",
    ),
    "anatomies": Cell(
        "the six-brain cell's rerun",
        "sweep_anatomies_minority",
        "stratified_random",
        DECISIVE,
        [Metric("auc_worst_dice", "AUC", 0.01, 0.01), Metric("worst_dice", "final", 0.01, 0.01)],
        inits=("imbalanced",),
        matched=True,
        # the six-brain cell ran no oracle: its SDs from the minority cell, imbalanced start
        borrowed={(ORACLE, m): (0.0, "sweep_powered_minority") for m in ("worst_dice", "auc_worst_dice")},
        intro="the committed six-brain cell's paired SDs over 12 seeds (worst-group Dice against "
        "`stratified_random`, imbalanced start, on the cohort before its fix",
    ),
    "weak": Cell(
        "the weak cell's claim (a), rerun",
        "sweep_powered_weak",
        "entropy",
        {"weighted_entropy": "weighted_entropy"},
        [Metric("disparity", "Dice disparity", 0.01, 0.01), Metric("nsd_disparity", "NSD disparity", 0.002, 0.002)],
        intro="the committed weak cell's paired SDs over 12 seeds (final disparity, Weighted Entropy minus entropy",
    ),
}


def pilot_sds(cell: Cell, metric: Metric) -> dict[str, float]:
    """The metric's pilot SDs, ordered by start and rule label (as paired.csv sorts them)."""
    found = []
    for init in cell.inits:
        for rule, name in cell.rules.items():
            source = cell.borrowed.get((rule, metric.column), (None, cell.pilot))[1]
            p = pd.read_csv(ROOT / "docs" / "replication" / source / "paired.csv")
            row = p[(p["reference"] == cell.reference) & (p["strategy"] == rule) & (p["metric"] == metric.column)]
            row = row[row["init"] == (init if source == cell.pilot else "imbalanced")]
            if row.empty or not row["paired_sd"].iloc[0] > 0:
                continue  # no pilot, or the reference itself (SD 0)
            label = f"{name}, {init}, {metric.name}" + ("" if source == cell.pilot else f" (pilot: {source})")
            found.append(((init, rule), label, float(row["paired_sd"].iloc[0])))
    return {label: sd for _, label, sd in sorted(found)}


def family_tables(cell: Cell) -> tuple[int, str]:
    """The family's size (a difference test and a TOST per comparison) and the planner's tables."""
    per_metric = {m: pilot_sds(cell, m) for m in cell.metrics}
    family = 2 * sum(len(s) for s in per_metric.values())
    tables = []
    if len({(m.effect, m.margin) for m in cell.metrics}) == 1:  # one table where the metrics share their sizes
        m = cell.metrics[0]
        order = {init: i for i, init in enumerate(sorted(cell.inits))}
        keyed = [(order[k.split(", ")[1]], m.column, k, v) for m, s in per_metric.items() for k, v in s.items()]
        sds = {k: v for *_, k, v in sorted(keyed, key=lambda x: (x[0], x[1]))}
        rows, _ = plan(sds, m.effect, m.margin, family)
        tables.append(markdown(rows, m.effect, m.margin, family, 0.8, 0.05))
    else:
        for m, sds in per_metric.items():
            rows, _ = plan(sds, m.effect, m.margin, family)
            tables.append(f"**{m.name}**\n\n" + markdown(rows, m.effect, m.margin, family, 0.8, 0.05))
    return family, "\n".join(tables)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cell", choices=sorted(CELLS))
    args = parser.parse_args(argv)
    cell = CELLS[args.cell]
    family, tables = family_tables(cell)
    n = family // 2
    lines = [
        f"# Seeds for {cell.title} (issue 33): the planner's table",
        "",
        f"Produced by: `python sweeps/plan_rerun.py {args.cell}` (the seed planner, "
        f"`python -m fair_seg_al.analysis.planner`). Pilot: {cell.intro}, trained with the eroding label "
        "resampling: the audited instrument's SDs may differ). "
        f"{n} comparisons, each with a difference test and a TOST: a Holm "
        f"family of {family}. A proposal for the rerun's plan, not the plan: the margin and the family are the "
        "plan's to declare.",
        "",
        tables,
    ]
    if cell.matched:
        inits = ("imbalanced",)  # from the balanced start composition_control is stratified_random by construction
        second, tables = family_tables(replace(cell, reference="composition_control", rules=MATCHED, inits=inits))
        lines += [
            "## The second family: against the composition-matched control",
            "",
            f"The candidate and the oracle control against `composition_control` (imbalanced start), pilot SDs "
            f"as for the first family (a borrowed one is marked): {second // 2} comparisons, a Holm family of {second}.",
            "",
            tables,
        ]
    text = "\n".join(lines)
    out = ROOT / "docs" / "planning" / f"{args.cell}_rerun.md"
    atomic_write_text(out, text)
    print(text)


if __name__ == "__main__":
    main()
