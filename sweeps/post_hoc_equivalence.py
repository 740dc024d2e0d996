"""Rebuild the post hoc equivalence verdicts of the committed cells (issue 33) from their plans.

    python sweeps/post_hoc_equivalence.py      # writes docs/<cell>/post_hoc_equivalence/ for every cell below
    python sweeps/post_hoc_equivalence.py post_hoc_strong    # only the cells of these plans

Each committed cell's planned tests, each joined by a TOST at the margin declared for the minority
rerun (+-0.01), applied after the cell's results were known: labelled post hoc in every output,
never a planned verdict. The plans are docs/plans/post_hoc_*.yaml (the minority cell is judged by
the rerun's own plan, so old and new read alike).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fair_seg_al.analysis.plans import load_plan, run_metrics_of, verdict_table, write_verdicts  # noqa: E402

# tests of a plan that get no TOST: a descriptive comparison has no better side and no margin
NO_TOST = {"post_hoc_strong": " but claim (c)'s two share tests (group B's acquired share: descriptive)"}
ERODING = "the cell trained with the eroding label resampling"
UNTOUCHED = "the cell trained without augmentation, which the label fix does not touch"
# plan, runs, output folder, what the note says of the cell
CELLS = [
    ("minority_rerun", "replication/runs/sweep_powered_minority", "replication/sweep_powered_minority",
     "the rerun plan applied to the old minority cell", ERODING),
    ("post_hoc_weak", "replication/runs/sweep_powered_weak", "replication/sweep_powered_weak",
     "the planned families of this cell", ERODING),
    ("post_hoc_anatomies", "replication/runs/sweep_anatomies_minority", "replication/sweep_anatomies_minority",
     "the planned family of this cell", ERODING + " on the six-brain cohort before its fix"),
    ("post_hoc_strong", "replication/runs/sweep_powered", "replication/sweep_powered",
     "the planned families of this cell", UNTOUCHED),
    ("post_hoc_uncertainty", "uncertainty/runs/uncertainty_matched", "uncertainty/matched",
     "the planned family of this cell", UNTOUCHED),
]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    docs = ROOT / "docs"
    only = sys.argv[1:] if argv is None else argv
    unknown = set(only) - {c[0] for c in CELLS}
    if unknown:
        sys.exit(f"unknown plan(s) {', '.join(sorted(unknown))}; the cells' plans: {', '.join(c[0] for c in CELLS)}")
    for plan_name, runs, out, what, cell in CELLS:
        if only and plan_name not in only:
            continue
        plan = load_plan(docs / "plans" / f"{plan_name}.yaml")
        if not plan.get("post_hoc"):  # a rerun's plan, planned there, is post hoc here as a whole
            plan = {**plan, "post_hoc": ["the whole plan, a later cell's, applied to this cell"]}
        note = (
            f"Post hoc: {what}, each test{NO_TOST.get(plan_name, '')} joined by a TOST at the margin "
            "declared for the minority rerun "
            f"(+-{plan['margin']:g}), after the results of this cell were known; {cell}. Not a planned verdict."
        )
        table = verdict_table(run_metrics_of([docs / runs], [plan]), plan)
        write_verdicts(table, plan, docs / out / "post_hoc_equivalence", "python sweeps/post_hoc_equivalence.py", note)
        print(f"{out}/post_hoc_equivalence: {len(table)} comparisons")


if __name__ == "__main__":
    main()
