"""Rebuild the powered replication's reports and verdicts from the archived raw runs.

    python sweeps/replication_report.py          # or: make replication-report

For every archived sweep under docs/replication/runs/ (sweep_powered, sweep_powered_minority,
sweep_powered_weak): the standard report (``fair_seg_al.report``: tables, figures, paired
comparisons against the references below) into docs/replication/<sweep>/, and verdicts.md with
the analysis plan's primary questions (docs/powered_replication.md), answered mechanically from
the per-seed paired differences: "resolved" when the 95 % bootstrap CI excludes 0, otherwise
"within noise". Nothing here reads anything but the archived files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from fair_seg_al.comparisons import run_metrics
from fair_seg_al.report import build_report
from fair_seg_al.stats import paired_summary, reduction_ci
from fair_seg_al.utils.io import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "docs" / "replication" / "runs"
FAIR = "fair_weighted_entropy.kfold_scratch.quota"
ORACLE = "oracle_weighted_entropy.oracle.quota (oracle control)"
REFERENCES = ["entropy", "random", "stratified_random", "composition_control", FAIR]
PAPER_REDUCTION = {"strong": 75, "weak": 86}  # claim (a), % cut in final disparity vs entropy
COMMAND = "python sweeps/replication_report.py"
PLANNED_SEEDS = 12  # docs/powered_replication.md


def _diff(m: pd.DataFrame, a: str, b: str, metric: str):
    """Paired summary of ``a - b`` over the seeds both ran, or None if they share none."""
    pa, pb = (m[m["strategy"] == s].set_index("seed")[metric] for s in (a, b))
    seeds = sorted(set(pa.index) & set(pb.index))
    if not seeds:
        return None, seeds
    return paired_summary(pa.loc[seeds].to_numpy() - pb.loc[seeds].to_numpy()), seeds


def _fmt(p) -> str:
    word = "resolved" if p.resolved else "within noise"
    return f"{p.mean:+.3f} [{p.ci_low:+.3f}, {p.ci_high:+.3f}] ({p.n} seeds, {word})"


def verdicts(m: pd.DataFrame, bias: str, init: str) -> list[str]:
    present = set(m["strategy"])
    out = [f"### bias={bias}, init={init}", ""]
    if {"weighted_entropy", "entropy"} <= present:
        p, seeds = _diff(m, "weighted_entropy", "entropy", "disparity")
        ent = m[m["strategy"] == "entropy"].set_index("seed").loc[seeds, "disparity"]
        we = m[m["strategy"] == "weighted_entropy"].set_index("seed").loc[seeds, "disparity"]
        red, lo, hi = reduction_ci(ent, we)
        claim = PAPER_REDUCTION.get(bias)
        inside = "" if claim is None else (
            f" The paper's {claim} % is {'inside' if lo * 100 <= claim <= hi * 100 else 'outside'} this interval."
        )  # fmt: skip
        out.append(
            f"- **(a) Weighted Entropy cuts final disparity against entropy.** Difference {_fmt(p)}; "
            f"reduction {100 * red:+.0f} % [{100 * lo:+.0f}, {100 * hi:+.0f}].{inside}"
        )
    if "weighted_entropy" in present:
        rows, holds = [], True
        for other in sorted(present - {"weighted_entropy", ORACLE, "composition_control"}):  # controls are not rivals
            p, _ = _diff(m, "weighted_entropy", other, "es_dice")
            if p is None:
                continue
            holds &= bool(p.resolved and p.mean > 0)
            rows.append(f"`{other}` {_fmt(p)}")
        out.append(
            f"- **(b) Weighted Entropy has the highest ES-Dice:** {'holds' if holds else 'does not hold'} "
            "(final ES-Dice, weighted_entropy minus: " + "; ".join(rows) + ")."
        )
    if {"masked_entropy", "entropy", "random"} <= present:
        pe, _ = _diff(m, "masked_entropy", "entropy", "acquired_share")
        pr, _ = _diff(m, "masked_entropy", "random", "acquired_share")
        removed = pe.resolved and pe.mean > 0 and not pr.resolved
        share = m.groupby("strategy")["acquired_share"].mean()
        out.append(
            f"- **(c) Masking removes entropy's volume effect:** {'yes' if removed else 'no'}. Group B's share of the "
            f"acquired images: entropy {share['entropy']:.2f}, masked {share['masked_entropy']:.2f}, random "
            f"{share['random']:.2f}; masked minus entropy {_fmt(pe)}, masked minus random {_fmt(pr)}."
        )
    if "stratified_random" in present:
        parts = []
        for s in ("weighted_entropy", FAIR):
            if s in present:
                pf, _ = _diff(m, s, "stratified_random", "worst_dice")
                pa, _ = _diff(m, s, "stratified_random", "auc_worst_dice")
                parts.append(f"`{s}`: final {_fmt(pf)}, AUC {_fmt(pa)}")
        beats = [s for s in ("weighted_entropy", FAIR) if s in present
                 and all(p.resolved and p.mean > 0 for p in (_diff(m, s, "stratified_random", k)[0]
                                                             for k in ("worst_dice",)))]  # fmt: skip
        out.append(
            "- **Does a fairness-aware rule beat `stratified_random` on worst-group Dice?** "
            + (
                "yes, at the final budget: " + ", ".join(f"`{b}`" for b in beats)
                if beats
                else "no resolved gain at the final budget"
            )
            + ". Worst-group Dice minus stratified_random: "
            + "; ".join(parts)
            + "."
        )
    if {FAIR, "composition_control"} <= present:
        pw, _ = _diff(m, FAIR, "composition_control", "worst_dice")
        pd_, _ = _diff(m, FAIR, "composition_control", "disparity")
        line = (
            f"- **Do the estimates matter?** `{FAIR}` minus `composition_control`: worst-group Dice {_fmt(pw)}, "
            f"final disparity {_fmt(pd_)}."
        )
        if ORACLE in present:
            po, _ = _diff(m, ORACLE, FAIR, "worst_dice")
            line += (
                f" The oracle control minus `{FAIR}` (what better estimates could add): worst-group Dice {_fmt(po)}."
            )
        out.append(line)
    return out + [""]


def main() -> None:
    sweeps = sorted(p for p in RUNS.iterdir() if p.is_dir()) if RUNS.is_dir() else []
    if not sweeps:
        sys.exit(f"no archived runs under {RUNS}; run sweeps/powered_replication.sh first")
    for sweep in sweeps:
        out = REPO / "docs" / "replication" / sweep.name
        build_report([sweep], out, command=COMMAND, references=REFERENCES)
        summary = pd.read_csv(out / "summary.csv")
        metrics = run_metrics(summary, set(summary["run_dir"]))
        lines = [
            f"# Verdicts: {sweep.name}",
            "",
            f"Produced by: `{COMMAND}` from the raw runs in `docs/replication/runs/{sweep.name}/`. The questions "
            "and the rule for 'resolved' (the paired 95 % bootstrap CI over seeds excludes 0) were fixed in "
            "docs/powered_replication.md before any run. No correction for multiplicity.",
            "",
            *(
                [
                    f"**Interim: {n_seeds} of the {PLANNED_SEEDS} planned seeds.** Intervals from so few seeds are not "
                    "the plan's test; nothing here is a verdict yet.",
                    "",
                ]
                if (n_seeds := metrics["seed"].nunique()) < PLANNED_SEEDS
                else []
            ),  # fmt: skip
            "Runs per strategy: "
            + ", ".join(f"`{s}` {n}" for s, n in metrics.groupby("strategy").size().items())
            + ".",
            "",
        ]
        for (bias, init), cell in metrics.groupby(["bias", "init"], sort=False):
            lines += verdicts(cell, bias, init)
        atomic_write_text(out / "verdicts.md", "\n".join(lines))
        print(out / "verdicts.md")


if __name__ == "__main__":
    main()
