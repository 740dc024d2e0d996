"""Rebuild a rerun's verdicts (issue 33) from its plan and raw runs, with the old cell beside it.

    python sweeps/rerun_report.py minority     # docs/replication/rerun_minority/
    python sweeps/rerun_report.py anatomies    # docs/replication/rerun_anatomies/
    python sweeps/rerun_report.py weak         # docs/replication/rerun_weak/

Writes into the cell's folder:

- ``verdicts.{md,csv,png}``: the plan's verdicts (``fair_seg_al.analysis.plans``, the one engine),
  labelled *interim* while fewer seeds than the plan's are complete;
- ``old_vs_new.{md,csv}``: each planned comparison's verdict in the old cell (the same plan
  applied post hoc to its runs, trained with the eroding label resampling) beside the rerun's;
- ``report.md`` and figures: the package's run report (levels, curves) of the rerun's runs;
- ``<name>/verdicts.{md,csv,png}`` for each secondary plan of the cell (the minority cell's
  ``budget``: composition_control's lead at 20, 30 and 90 labels, labelled post hoc by its plan);
- for the weak cell, the reduction of final Dice disparity against entropy beside the paper's 86 %.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fair_seg_al.analysis.plans import (  # noqa: E402
    load_plan,
    planned_runs,
    planned_seeds,
    run_metrics_of,
    verdict_table,
    write_verdicts,
)
from fair_seg_al.analysis.report import build_report  # noqa: E402
from fair_seg_al.analysis.stats import reduction_ci  # noqa: E402
from fair_seg_al.utils.io import atomic_path, atomic_write_text  # noqa: E402

RUNS = ROOT / "docs" / "replication" / "runs"
KEYS = ["family", "strategy", "reference", "init", "metric", "summary"]


@dataclass(frozen=True)
class Rerun:
    plan: str  # docs/plans/<plan>.yaml
    sweep: str  # docs/replication/runs/<sweep>/ and docs/replication/<sweep>/
    old_sweep: str  # the cell it reruns
    paper_reduction: float | None = None  # claim (a): % cut in final disparity against entropy
    secondary: dict[str, str] = field(default_factory=dict)  # folder name -> docs/plans/<plan>.yaml


RERUNS = {
    "minority": Rerun(
        "minority_rerun", "rerun_minority", "sweep_powered_minority", secondary={"budget": "minority_rerun_budget"}
    ),
    "anatomies": Rerun("anatomies_rerun", "rerun_anatomies", "sweep_anatomies_minority"),
    "weak": Rerun("weak_rerun", "rerun_weak", "sweep_powered_weak", paper_reduction=86.0),
}


def completeness(table: pd.DataFrame, plan: dict) -> str:
    """The line under a rerun's verdicts: interim until every comparison has all planned seeds."""
    done, planned = int(table["seeds"].min()), len(planned_seeds(plan))
    if done < planned:
        return (
            f"Interim: {done} of the plan's {planned} seeds are complete in every comparison; read nothing "
            "into these verdicts before the plan's seeds are in."
        )
    return f"All {planned} planned seeds."


def old_vs_new(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """One row per planned test: seeds and verdict in the old cell and in the rerun."""
    keep = [*KEYS, "seeds", "verdict"]  # in the plan's order (both tables hold the plan's rows)
    return new[keep].merge(old[keep], on=KEYS, how="left", suffixes=("_new", "_old"))


def old_vs_new_markdown(table: pd.DataFrame, note: str, command: str) -> str:
    lines = [
        "# Old and new verdicts side by side",
        "",
        f"Produced by: `{command}`. {note}",
        "",
        "Old: the committed cell, trained with the eroding label resampling, its runs judged post hoc by "
        "this plan (margin and TOSTs declared after its results were known). New: the rerun on the audited "
        "instrument, judged by the plan committed before its first run.",
        "",
        "| rule | reference | start | metric | old (seeds) | new (seeds) |",
        "|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.strategy} | {r.reference} | {r.init} | {r.metric} ({r.summary}) "
            f"| {r.verdict_old} ({r.seeds_old:.0f}) | {r.verdict_new} ({r.seeds_new:.0f}) |"
        )
    return "\n".join(lines) + "\n"


def reductions(metrics: pd.DataFrame, paper: float) -> str:
    """Claim (a)'s size: the % cut in final Dice disparity against entropy, per start."""
    lines = ["", f"## Claim (a)'s size: reduction of final Dice disparity against entropy (paper: {paper:g} %)", ""]
    for init, m in metrics.groupby("init"):
        wide = m.pivot_table(index="seed", columns="strategy", values="disparity")
        if {"entropy", "weighted_entropy"} - set(wide.columns):
            continue
        wide = wide[["entropy", "weighted_entropy"]].dropna()
        point, low, high = reduction_ci(wide["entropy"], wide["weighted_entropy"])
        inside = "inside" if low * 100 <= paper <= high * 100 else "outside"
        lines.append(
            f"- {init} start, {len(wide)} seeds: {100 * point:+.0f} % [{100 * low:+.0f}, {100 * high:+.0f}] "
            f"(95 % bootstrap over seeds); the paper's {paper:g} % is {inside} this interval."
        )
    return "\n".join(lines) + "\n"


def compress_summary(out: Path) -> None:
    """Keep the report's summary.csv as summary.csv.gz: a rerun's every run x round passes 2 MiB, too big
    for a plain file in the repository (its raw runs are committed; pandas reads the .gz as it is)."""
    plain = out / "summary.csv"
    with atomic_path(out / "summary.csv.gz") as tmp:
        tmp.write_bytes(gzip.compress(plain.read_bytes(), compresslevel=9, mtime=0))  # mtime 0: same bytes each build
    plain.unlink()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cell", choices=sorted(RERUNS))
    args = parser.parse_args(argv)
    rerun = RERUNS[args.cell]
    command = f"python sweeps/rerun_report.py {args.cell}"
    plan = load_plan(ROOT / "docs" / "plans" / f"{rerun.plan}.yaml")
    out = ROOT / "docs" / "replication" / rerun.sweep

    secondary = {
        folder: load_plan(ROOT / "docs" / "plans" / f"{name}.yaml") for folder, name in rerun.secondary.items()
    }
    # the runs read once for all plans, the plan's seeds only
    metrics = planned_runs(run_metrics_of([RUNS / rerun.sweep], [plan, *secondary.values()]), plan)
    new = verdict_table(metrics, plan)
    note = completeness(new, plan)
    write_verdicts(new, plan, out, command, note)
    for folder, other in secondary.items():  # their own families, on the same runs
        write_verdicts(verdict_table(metrics, other), other, out / folder, command, note)
    build_report([str(RUNS / rerun.sweep)], str(out), command=command)
    compress_summary(out)

    old = verdict_table(run_metrics_of([RUNS / rerun.old_sweep], [plan]), plan)
    both = old_vs_new(old, new)
    atomic_write_text(out / "old_vs_new.csv", both.to_csv(index=False))
    text = old_vs_new_markdown(both, note, command)
    if rerun.paper_reduction is not None:
        text += reductions(metrics, rerun.paper_reduction)
    atomic_write_text(out / "old_vs_new.md", text)
    print(text)


if __name__ == "__main__":
    main()
