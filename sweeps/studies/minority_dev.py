"""The candidate's settings, chosen on the development cohort by the rule of docs/minority.md.

    python sweeps/minority_dev_report.py      # reads docs/minority/dev_runs/, writes docs/minority/dev.md

Runs of ``experiment=minority_dev`` (cohort 1000, imbalanced start, seeds 0-2): the references
(``stratified_random``, ``masked_entropy_shortfall``) and the settings D1-D3 of the candidate.
Rule: the setting with the highest mean (over the seeds) area under the worst-group Dice curve;
ties within 0.002 go to the simpler one (D1 < D2 < D3). The development cohort never judges:
its numbers choose settings only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from fair_seg_al.analysis.comparisons import run_metrics
from fair_seg_al.analysis.runs import find_runs, summary_table
from fair_seg_al.utils.io import atomic_write_text
from studies import REPO

RUNS = REPO / "docs" / "minority" / "dev_runs"
OUT = REPO / "docs" / "minority" / "dev.md"
#: the plan's settings (counts, kind), simplest first; all with T 1 -> 0.1 over the rounds
SETTINGS = {"D1": ("shortfall", "power"), "D2": ("shortfall", "softrank"), "D3": ("equal", "softrank")}
TIE = 0.002


def setting_of(run_dir: str) -> str:
    """D1-D3 for a candidate run, else its strategy label."""
    cfg = OmegaConf.load(Path(run_dir) / ".hydra" / "config.yaml")
    comp = cfg.strategy.get("composition") or {}
    if comp.get("name") == "stratified_power":
        key = (comp.get("counts"), comp.get("kind", "power"))
        t = comp.get("temperature") or {}
        found = [k for k, v in SETTINGS.items() if v == key and (t.get("start"), t.get("end")) == (1.0, 0.1)]
        return found[0] if found else f"other {key}"
    return "masked_entropy_shortfall" if comp.get("name") == "shortfall" else str(cfg.strategy.name)


def choose(table: pd.DataFrame) -> str | None:
    """The plan's rule on per-setting means of ``auc_worst_dice``."""
    cands = table.loc[[k for k in SETTINGS if k in table.index]]
    if cands.empty:
        return None
    top = cands["auc_worst_dice"].max()
    return next(k for k in SETTINGS if k in cands.index and cands.loc[k, "auc_worst_dice"] >= top - TIE)


def main() -> None:
    if not RUNS.is_dir():
        sys.exit(f"no development runs at {RUNS}")
    runs = find_runs([RUNS])
    summary = summary_table(runs)
    metrics = run_metrics(summary, {str(r.path) for r in runs if r.failure is None})
    metrics["setting"] = [setting_of(d) for d in metrics["run_dir"]]
    cols = ["auc_worst_dice", "worst_dice", "auc_worst_nsd", "worst_nsd", "acquired_share"]
    table = metrics.groupby("setting")[cols].mean().assign(seeds=metrics.groupby("setting")["seed"].nunique())
    chosen = choose(table)
    lines = [
        "# The candidate's settings on the development cohort",
        "",
        "Produced by: `python sweeps/minority_dev_report.py` from the raw runs in `docs/minority/dev_runs/` "
        "(`experiment=minority_dev`: cohort 1000, never a judging cohort; imbalanced start; seeds 0-2). "
        "Means over seeds; the rule (docs/minority.md): highest mean AUC worst-group Dice, ties within "
        f"{TIE} to the simpler setting. These numbers choose settings only: they judge nothing.",
        "",
        "| setting | counts, within-group kind (T 1 -> 0.1) | seeds | AUC worst-group Dice | final worst-group Dice "
        "| AUC worst-group NSD | final worst-group NSD | B images acquired of 80 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in table.sort_values("auc_worst_dice", ascending=False).iterrows():
        what = ", ".join(SETTINGS[name]) if name in SETTINGS else "reference"
        lines.append(
            f"| {name} | {what} | {int(r['seeds'])} | {r['auc_worst_dice']:.4f} | {r['worst_dice']:.4f} | "
            f"{r['auc_worst_nsd']:.4f} | {r['worst_nsd']:.4f} | {80 * r['acquired_share']:.1f} |"
        )
    incomplete = [k for k in SETTINGS if table["seeds"].get(k, 0) < 3]
    lines += [
        "",
        (f"**Chosen: {chosen}** ({', '.join(SETTINGS[chosen])})." if chosen else "**No setting has run yet.**")
        + (f" Interim: {', '.join(incomplete)} with fewer than 3 seeds." if incomplete else ""),
        "",
    ]
    atomic_write_text(OUT, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
