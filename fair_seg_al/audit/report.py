"""The audit's numbers per stage and group, the difference between groups, and the verdict.

A subject is the unit: its draws (patches, augmentation) are averaged first, so an interval is
over subjects. Per stage and group: the mean label-volume ratio (after / before x the stage's
intended factor) with its 95 % t-interval, connected parts after, the largest part's share, the
boundary displacement and the change in contrast. Per stage, each group minus the first: the
volume-ratio difference with its Welch interval.

A stage in use fails where a group's mean volume ratio is off 1 by more than
``volume_tolerance``, or a group differs from the first by more than ``gap_tolerance``, and the
interval excludes no change: nearest-neighbour resampling of a 2 mm structure changes its volume
by a few per cent from draw to draw in either direction, so an estimate alone would fail an
unbiased stage by chance. Where an interval is wider than its tolerance the audit cannot resolve
a distortion of that size: it says so (``imprecise``) and more subjects or draws are needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fair_seg_al.analysis.stats import t_interval, welch_interval
from fair_seg_al.audit.stages import STAGES, StageRow
from fair_seg_al.utils.figures import save_png
from fair_seg_al.utils.io import atomic_path, atomic_write_text

VOLUME_TOLERANCE = 0.01  #: a stage may move a group's mean label volume by at most 1 %
GAP_TOLERANCE = 0.005  #: and the groups' mean ratios apart by at most 0.5 %


@dataclass
class AuditResult:
    """The audit's tables and verdict."""

    rows: pd.DataFrame  #: per subject, stage and draw
    groups: pd.DataFrame  #: per stage and group
    gaps: pd.DataFrame  #: per stage, each group minus the reference group
    inputs: pd.DataFrame  #: per group, the labels as the source gives them
    failures: list[str] = field(default_factory=list)
    imprecise: list[str] = field(default_factory=list)  #: intervals wider than their tolerance
    volume_tolerance: float = VOLUME_TOLERANCE
    gap_tolerance: float = GAP_TOLERANCE

    @property
    def passed(self) -> bool:
        return not self.failures


def _mean_ci(values) -> tuple[float, float, float]:
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return (float("nan"),) * 3
    if len(v) == 1:
        return float(v[0]), float("nan"), float("nan")
    if np.ptp(v) == 0:
        return float(v[0]), float(v[0]), float(v[0])
    lo, hi, _ = t_interval(v)
    return float(v.mean()), lo, hi


def summarise(
    rows: Sequence[StageRow],
    inputs: Sequence[dict] = (),
    groups: Sequence[str] | None = None,
    volume_tolerance: float = VOLUME_TOLERANCE,
    gap_tolerance: float = GAP_TOLERANCE,
) -> AuditResult:
    """Per-group summaries, group differences and the verdict from the audit's rows.

    Args:
        groups: the groups in order (the first is the reference); default: as they appear.
    """
    table = pd.DataFrame([{**asdict(r), "volume_ratio": r.volume_ratio} for r in rows])
    if groups is None:
        groups = list(dict.fromkeys(table["group"]))
    reference = groups[0]
    per_subject = (
        table.groupby(["stage", "group", "subject"], sort=False)
        .agg(
            in_use=("in_use", "first"),
            volume_ratio=("volume_ratio", "mean"),
            parts_before=("parts_before", "mean"),
            parts_after=("parts_after", "mean"),
            largest_after=("largest_after", "mean"),
            displacement_mm=("displacement_mm", "mean"),
            contrast_change=("contrast_after", "mean"),
            contrast_before=("contrast_before", "mean"),
        )
        .reset_index()
    )
    per_subject["contrast_change"] = per_subject["contrast_change"] - per_subject["contrast_before"]
    stages = [s for s in STAGES if s in set(per_subject["stage"])]
    stages += [s for s in dict.fromkeys(per_subject["stage"]) if s not in stages]  # unknown steps last
    summary, gaps, failures, imprecise = [], [], [], []
    for stage in stages:
        of_stage = per_subject[per_subject["stage"] == stage]
        in_use = bool(of_stage["in_use"].all())
        ratios = {}
        for group in groups:
            g = of_stage[of_stage["group"] == group]
            if g.empty:
                continue
            ratios[group] = g["volume_ratio"].to_numpy()
            mean, lo, hi = _mean_ci(ratios[group])
            displacement = _mean_ci(g["displacement_mm"])
            summary.append(
                {
                    "stage": stage,
                    "group": group,
                    "in_use": in_use,
                    "subjects": len(g),
                    "draws": int((table["stage"] == stage).sum() / max(len(of_stage), 1)),
                    "volume_ratio": mean,
                    "volume_ratio_lo": lo,
                    "volume_ratio_hi": hi,
                    "parts_before": float(g["parts_before"].mean()),
                    "parts_after": float(g["parts_after"].mean()),
                    "largest_after": float(g["largest_after"].mean()),
                    "displacement_mm": displacement[0],
                    "displacement_lo": displacement[1],
                    "displacement_hi": displacement[2],
                    "contrast_change": float(g["contrast_change"].mean()),
                }
            )
            text = f"{stage}: group {group}'s mean label volume x{mean:.4f} [{lo:.4f}, {hi:.4f}]"
            if in_use and abs(mean - 1) > volume_tolerance and not lo <= 1 <= hi:
                failures.append(f"{text} (tolerance +-{volume_tolerance:g})")
            elif in_use and (hi - lo) / 2 > volume_tolerance:
                imprecise.append(f"{text}: half-width above the tolerance {volume_tolerance:g}")
        for group in groups[1:]:
            if group not in ratios or reference not in ratios:
                continue
            d, lo, hi, p = welch_interval(ratios[group], ratios[reference])
            if np.isnan(d):  # fewer than two subjects in a group: the difference, no interval
                d = float(np.nanmean(ratios[group]) - np.nanmean(ratios[reference]))
            gaps.append(
                {"stage": stage, "group": group, "reference": reference, "in_use": in_use}
                | {"difference": d, "difference_lo": lo, "difference_hi": hi, "p": p}
            )
            text = f"{stage}: group {group} minus {reference} in label volume {d:+.4f} [{lo:+.4f}, {hi:+.4f}]"
            if in_use and abs(d) > gap_tolerance and not lo <= 0 <= hi:
                failures.append(f"{text} (tolerance +-{gap_tolerance:g})")
            elif in_use and (hi - lo) / 2 > gap_tolerance:
                imprecise.append(f"{text}: half-width above the tolerance {gap_tolerance:g}")
    inputs_table = pd.DataFrame(list(inputs))
    if not inputs_table.empty:
        inputs_table = (
            inputs_table.groupby("group", sort=False)
            .agg(
                subjects=("subject", "count"),
                volume_mm3=("volume_mm3", "mean"),
                parts=("parts", "mean"),
                largest=("largest", "mean"),
                largest_min=("largest", "min"),
                contrast=("contrast", "mean"),
            )
            .reindex([g for g in groups if g in set(inputs_table["group"])])
            .reset_index()
        )
    return AuditResult(
        rows=table,
        groups=pd.DataFrame(summary),
        gaps=pd.DataFrame(gaps),
        inputs=inputs_table,
        failures=failures,
        imprecise=imprecise,
        volume_tolerance=volume_tolerance,
        gap_tolerance=gap_tolerance,
    )


def _fmt(mean: float, lo: float, hi: float, digits: int = 4) -> str:
    if np.isnan(mean):
        return "-"
    if np.isnan(lo):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def to_markdown(result: AuditResult, title: str = "Pipeline audit") -> str:
    """The audit as a page: the verdict, the input labels, per stage and group, the gaps."""
    lines = [f"# {title}", ""]
    if result.passed:
        lines.append(
            f"**Passed**: no stage in use moves a group's mean label volume beyond +-{result.volume_tolerance:g} "
            f"or the groups apart beyond +-{result.gap_tolerance:g} by more than sampling noise."
        )
    else:
        lines += ["**Failed**:", ""] + [f"- {f}" for f in result.failures]
    if result.imprecise:
        lines += ["", "**Imprecise** (more subjects or draws would resolve a distortion of the tolerance's size):", ""]
        lines += [f"- {f}" for f in result.imprecise]
    lines += [
        "",
        "Intervals: 95 % t-intervals over subjects (a subject's draws averaged first); group differences: "
        "Welch. A stage fails where its estimate is beyond the tolerance and its interval excludes no change.",
        "",
    ]
    if not result.inputs.empty:
        lines += [
            "## The labels as the source gives them",
            "",
            "| group | subjects | volume (mm³) | parts | largest part | largest (min) | contrast |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in result.inputs.itertuples():
            lines.append(
                f"| {r.group} | {r.subjects} | {r.volume_mm3:.0f} | {r.parts:.2f} | {r.largest:.3f} | "
                f"{r.largest_min:.3f} | {r.contrast:+.2f} |"
            )
        lines.append("")
    lines += [
        "## Per stage and group",
        "",
        "| stage | in use | group | subjects x draws | volume after / before | parts before -> after "
        "| largest part | boundary shift (mm) | contrast change |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result.groups.itertuples():
        lines.append(
            f"| {r.stage} | {'yes' if r.in_use else 'offered'} | {r.group} | {r.subjects} x {r.draws} | "
            f"{_fmt(r.volume_ratio, r.volume_ratio_lo, r.volume_ratio_hi)} | "
            f"{r.parts_before:.2f} -> {r.parts_after:.2f} | {r.largest_after:.3f} | "
            f"{_fmt(r.displacement_mm, r.displacement_lo, r.displacement_hi, 2)} | {r.contrast_change:+.3f} |"
        )
    if not result.gaps.empty:
        lines += [
            "",
            "## Between groups (volume ratio, each group minus the first; Welch 95 % interval)",
            "",
            "| stage | group | difference |",
            "|---|---|---|",
        ]
        for r in result.gaps.itertuples():
            lines.append(
                f"| {r.stage} | {r.group} - {r.reference} | {_fmt(r.difference, r.difference_lo, r.difference_hi)} |"
            )
    return "\n".join(lines) + "\n"


def plot(result: AuditResult, path: str | Path) -> Path:
    """Per stage: each group's mean volume ratio with its interval (tolerance band shaded), and
    its mean boundary displacement."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = result.groups
    stages = list(dict.fromkeys(g["stage"]))
    groups = list(dict.fromkeys(g["group"]))
    fig, (ax_v, ax_d) = plt.subplots(1, 2, figsize=(11, 0.5 * len(stages) + 2), sharey=True)
    width = 0.7 / max(len(groups), 1)
    for j, group in enumerate(groups):
        sub = g[g["group"] == group].set_index("stage").reindex(stages)
        y = np.arange(len(stages)) + (j - (len(groups) - 1) / 2) * width
        err = np.abs(
            np.vstack([sub["volume_ratio"] - sub["volume_ratio_lo"], sub["volume_ratio_hi"] - sub["volume_ratio"]])
        )
        ax_v.errorbar(sub["volume_ratio"], y, xerr=np.nan_to_num(err), fmt="o", capsize=3, label=f"group {group}")
        ax_d.plot(sub["displacement_mm"], y, "o", label=f"group {group}")
    tol = result.volume_tolerance
    ax_v.axvspan(1 - tol, 1 + tol, color="0.9", zorder=0, label=f"+-{tol:g}")
    ax_v.axvline(1, color="0.5", lw=0.8)
    ax_v.set_yticks(
        np.arange(len(stages)), [s + ("" if g[g.stage == s].in_use.all() else " (offered)") for s in stages]
    )
    ax_v.invert_yaxis()
    ax_v.set_xlabel("label volume after / before (mean, 95 % CI over subjects)")
    ax_d.set_xlabel("boundary displacement (mm, mean symmetric)")
    ax_v.legend(fontsize=8, loc="lower left")
    ax_v.set_title("PASSED" if result.passed else "FAILED: " + result.failures[0][:60], fontsize=9, loc="left")
    return save_png(fig, path)


def write(result: AuditResult, out_dir: str | Path, title: str = "Pipeline audit") -> Path:
    """``audit.md``, ``audit_groups.csv``, ``audit_gaps.csv``, ``audit_inputs.csv``,
    ``audit_rows.csv.gz`` (every subject and draw) and ``audit.png`` in ``out_dir`` (each written
    atomically)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in (("groups", result.groups), ("gaps", result.gaps)):
        atomic_write_text(out / f"audit_{name}.csv", frame.to_csv(index=False))
    with atomic_path(out / "audit_rows.csv.gz") as tmp:
        result.rows.to_csv(tmp, index=False, compression={"method": "gzip", "mtime": 0})
    if not result.inputs.empty:
        atomic_write_text(out / "audit_inputs.csv", result.inputs.to_csv(index=False))
    atomic_write_text(out / "audit.md", to_markdown(result, title))
    plot(result, out / "audit.png")
    return out
