"""The deconfounded uncertainty comparison's report and verdicts, from the archived raw runs.

    python sweeps/uncertainty_matched_report.py     # docs/uncertainty/matched/: report.md, verdicts.md, ...

The plan (docs/uncertainty.md, "Deconfounded comparison") fixes the family: for BALD and for
TTA, (1) the score minus masked entropy matched to its group counts (uncertainty quality) and
(2) matched minus plain masked entropy (the group mix), each on final worst-group Dice and
final disparity: 8 paired t-tests over seeds, Holm-adjusted. Secondary rows (NSD, AUC, ES-Dice)
are unadjusted and say so. A cell with fewer than the planned 12 seeds is labelled interim.
"""

from __future__ import annotations

import sys

import pandas as pd

from fair_seg_al.analysis.comparisons import paired_difference, run_metrics
from fair_seg_al.analysis.report import build_report
from fair_seg_al.analysis.runs import read_summary
from fair_seg_al.analysis.stats import adjust_family, verdict
from fair_seg_al.utils.io import atomic_write_text
from studies import REPO

RUNS = REPO / "docs" / "uncertainty" / "runs" / "uncertainty_matched"
OUT = REPO / "docs" / "uncertainty" / "matched"
COMMAND = "python sweeps/uncertainty_matched_report.py"
PLANNED_SEEDS = 12
SCORES = ("mc_bald", "tta")
PRIMARY = {"worst_dice": "higher", "disparity": "lower"}
SECONDARY = {"worst_nsd": "higher", "nsd_disparity": "lower", "auc_worst_dice": "higher", "es_dice": "higher"}


def matched(score: str) -> str:
    return f"masked_entropy.matched_{score}"


def fmt(p, better: str) -> str:
    interim = f", interim: {p.n} of {PLANNED_SEEDS} seeds" if p.n < PLANNED_SEEDS else f", {p.n} seeds"
    return verdict(p, better) + interim


def verdicts(m: pd.DataFrame) -> list[str]:
    present = set(m["strategy"])
    questions = {
        "quality": [(s, matched(s)) for s in SCORES if {s, matched(s)} <= present],
        "mix": [(matched(s), "masked_entropy") for s in SCORES if {matched(s), "masked_entropy"} <= present],
    }
    family = {
        (a, b, k): paired_difference(m, a, b, k)[0] for pairs in questions.values() for a, b in pairs for k in PRIMARY
    }
    adjust_family([p for p in family.values() if p is not None])
    out = [f"Planned family: {sum(p is not None for p in family.values())} tests, Holm-adjusted.", ""]
    titles = {
        "quality": "Uncertainty quality: the score minus masked entropy with the same group counts",
        "mix": "Group mix: masked entropy with the score's group counts minus plain masked entropy",
    }
    for q, pairs in questions.items():
        out += [f"### {titles[q]}", ""]
        for a, b in pairs:
            cells = [f"{k}: {fmt(family[(a, b, k)], PRIMARY[k])}" for k in PRIMARY if family[(a, b, k)] is not None]
            second = []
            for k, better in SECONDARY.items():
                p, _ = paired_difference(m, a, b, k)
                if p is not None:
                    second.append(f"{k} {verdict(p, better)}")
            pa, seeds = paired_difference(m, a, b, "disparity")
            per_seed = ""
            if pa is not None:
                d = (
                    m[m["strategy"] == a].set_index("seed").loc[seeds, "disparity"]
                    - m[m["strategy"] == b].set_index("seed").loc[seeds, "disparity"]
                )
                per_seed = f" Per seed, final disparity lower in {int((d < 0).sum())} of {len(d)} seeds."
            out.append(f"- **`{a}` minus `{b}`**: " + "; ".join(cells) + "." + per_seed)
            if second:
                out.append("  - *Secondary (unadjusted):* " + "; ".join(second) + ".")
        out.append("")
    share = m.groupby("strategy")["acquired_share"].mean()
    out.append(
        "Group B's share of the acquired images (mean over seeds): "
        + ", ".join(f"`{s}` {v:.3f}" for s, v in share.items())
        + ". A matched run's share equals its reference's by construction (checked every round)."
    )
    return out + [""]


def main() -> None:
    if not RUNS.is_dir():
        sys.exit(f"no archived runs under {RUNS}; run sweeps/uncertainty_matched.sh first")
    build_report([RUNS], OUT, command=COMMAND, references=["masked_entropy", *(matched(s) for s in SCORES)])
    summary = read_summary(OUT / "summary.csv")
    m = run_metrics(summary, set(summary["run_dir"]))
    n = m["seed"].nunique()
    lines = [
        "# Verdicts: the deconfounded uncertainty comparison",
        "",
        f"Produced by: `{COMMAND}` from the raw runs in `docs/uncertainty/runs/uncertainty_matched/`, by the plan "
        "in docs/uncertainty.md written before the runs. Intervals: paired 95 % t-intervals over seeds; "
        "'resolved' = Holm p < 0.05 within the planned family.",
        "",
        *([f"**Interim: {n} of the {PLANNED_SEEDS} planned seeds.**", ""] if n < PLANNED_SEEDS else []),
        "Runs per strategy: " + ", ".join(f"`{s}` {k}" for s, k in m.groupby("strategy").size().items()) + ".",
        "",
        *verdicts(m),
    ]
    atomic_write_text(OUT / "verdicts.md", "\n".join(lines))
    print(OUT / "verdicts.md")


if __name__ == "__main__":
    main()
