"""Collect runs into the paper's table and figures.

    python -m fair_seg_al.analysis.report RUN_OR_SWEEP_DIR... [--out DIR]

Reads every run folder below the given paths (a run folder holds ``.hydra/config.yaml``
and, once a round is done, ``rounds.csv``) and writes into ``--out`` (default: the first
path's ``report/``):

- ``summary.csv``: one row per run x round: strategy, bias, init, seed and ``rounds.csv``;
- ``report.md``: per bias x init, at the final budget, mean +- SD over seeds of the group
  Dice, overall Dice, disparity and ES-Dice, each strategy's disparity reduction relative
  to ``entropy``, and the areas under the budget curves; failed or incomplete runs listed;
- ``levels.csv`` (and its section of report.md): the same final levels with a 95 % interval
  over seeds *and* test images (a two-level bootstrap: every run of a cell shares one test set,
  whose own sampling error no spread over seeds shows), on Dice and, where recorded, NSD;
- ``dice_groups.png``, ``disparity.png``, ``es_dice.png``, ``acquired_share.png``: curves
  against the labeled budget, one panel per bias x init, one line per strategy, a band
  over seeds.

Runs compared in one panel must share their test set (same cohort and test ids); folders
with no run, or mixed test sets, are refused with a message saying which.

The finished runs must also come from one code (their ``provenance.json``'s code id; runs from
before it was recorded are one class, ``unrecorded``): runs of different code are refused, naming them,
unless ``--allow-mixed-code``, and then report.md says that it pools them. report.md names the
code of the runs it pools (not for archives that all predate provenance: their reports are
unchanged).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from fair_seg_al.analysis.comparisons import REFERENCES, paired_figure, paired_markdown, paired_table, run_metrics  # noqa: E402
from fair_seg_al.analysis.runs import (  # noqa: E402
    ReportError,
    Run,
    check_same_code,
    final_test_values,
    find_runs,
    strategy_order,
    summary_table,
)
from fair_seg_al.analysis.stats import area_under_curve, nested_bootstrap, two_level_bootstrap  # noqa: E402
from fair_seg_al.metrics import groups_in_columns
from fair_seg_al.utils.io import atomic_path, atomic_write_text  # noqa: E402
from fair_seg_al.utils.provenance import UNRECORDED  # noqa: E402

REFERENCE = "entropy"  #: the disparity reduction is relative to it


def check_comparable(runs: Sequence[Run]) -> None:
    """Runs of one bias x init x seed must share one test set: the paired comparisons are per
    seed. Seeds may differ (a design that draws a cohort per seed, ``cohort.seed: ${seed}``)
    only if every seed's runs do; a fixed cohort is one test set for all."""
    by_panel: dict[tuple[str, str, int], dict[str, list[Path]]] = {}
    for r in runs:
        if r.test_key is not None:
            by_panel.setdefault((r.bias, r.init, r.seed), {}).setdefault(r.test_key, []).append(r.path)
    for (bias, init, seed), keys in by_panel.items():
        if len(keys) > 1:
            groups = "; ".join(f"{len(p)} run(s) e.g. {p[0]}" for p in keys.values())
            raise ReportError(
                f"runs of bias={bias} init={init} seed={seed} use {len(keys)} different test sets "
                f"(different cohorts or data.split_seed): {groups}. Report them separately."
            )


def code_lines(codes: dict[str, list[Run]]) -> list[str]:
    """report.md's line on the code of the runs it pools: none where every run predates
    provenance (the reports of such archives stay as they were), a warning where codes mix."""
    if set(codes) <= {UNRECORDED}:
        return []
    counts = ", ".join(f"`{code}` ({len(members)} run{'s' * (len(members) > 1)})" for code, members in codes.items())
    if len(codes) == 1:
        return [f"Code: {counts}."]
    return [
        f"**Mixed code, pooled as asked (`--allow-mixed-code`)**: {len(codes)} code versions: {counts}. "
        "A difference between strategies may be a difference between code versions."
    ]


def _groups(df: pd.DataFrame) -> list[str]:
    return groups_in_columns(df.columns)


def area_under_budget(curve: pd.DataFrame, metric: str) -> float:
    """Mean height of ``metric`` against ``n_labeled`` (trapezoid area / budget range)."""
    return area_under_curve(curve["n_labeled"], curve[metric])


def final_table(summary: pd.DataFrame, complete: set[str]) -> tuple[pd.DataFrame, list[str]]:
    """Per bias x init x strategy: mean and SD over seeds at the final budget, plus AUCs."""
    df = summary[summary["run_dir"].isin(complete)]
    groups = _groups(df)
    rows = []
    for (bias, init, strategy), d in df.groupby(["bias", "init", "strategy"], sort=False):
        final = d[d["round"] == d.groupby("run_dir")["round"].transform("max")]
        row = {
            "bias": bias,
            "init": init,
            "strategy": strategy,
            "seeds": d["seed"].nunique(),
            "n_labeled": int(final["n_labeled"].max()),
        }
        for m in [f"dice_{g}" for g in groups] + ["dice", "dice_disparity", "es_dice"]:
            row[m], row[f"{m}_sd"] = final[m].mean(), final[m].std(ddof=1) if len(final) > 1 else 0.0
        for m in ("dice", "dice_disparity", "es_dice"):
            aucs = [area_under_budget(c.sort_values("n_labeled"), m) for _, c in d.groupby("run_dir")]
            row[f"auc_{m}"], row[f"auc_{m}_sd"] = np.mean(aucs), np.std(aucs, ddof=1) if len(aucs) > 1 else 0.0
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table, groups
    ref = table[table["strategy"] == REFERENCE].set_index(["bias", "init"])["dice_disparity"]
    table["disparity_reduction_pct"] = [
        100 * (ref[(b, i)] - v) / ref[(b, i)] if (b, i) in ref.index and ref[(b, i)] > 0 else np.nan
        for b, i, v in zip(table["bias"], table["init"], table["dice_disparity"], strict=True)
    ]
    table["_o"] = table["strategy"].map(strategy_order)
    table = table.sort_values(["bias", "init", "_o"]).drop(columns="_o").reset_index(drop=True)
    return table, groups


#: absolute levels with a two-level interval: name -> (per-image column, statistic of per-seed group means)
def _level_statistics(counts: np.ndarray) -> dict:
    share = counts / counts.sum()
    return {
        "worst": lambda m: m.min(axis=1),
        "disparity": lambda m: m.max(axis=1) - m.min(axis=1),
        "es": lambda m: (m @ share) / (1 + np.abs(m - (m @ share)[:, None]).sum(axis=1)),
    }


def levels_table(runs: Sequence[Run], n_boot: int = 2000) -> pd.DataFrame:
    """Per cell x strategy: final group means, worst group, disparity and ES of Dice (and NSD where
    recorded), each with a 95 % bootstrap interval over seeds and test images: crossed
    (:func:`two_level_bootstrap`) where every seed scores one shared test set, nested
    (:func:`nested_bootstrap`) where each seed drew its own cohort and test set."""
    rows = []
    cells: dict[tuple[str, str, str], list[Run]] = {}
    for r in runs:
        if r.failure is None:
            cells.setdefault((r.bias, r.init, r.strategy), []).append(r)
    for (bias, init, strategy), members in cells.items():
        tables = [final_test_values(r) for r in members]
        if any(t is None for t in tables):
            continue  # no per-image file
        keys = {r.test_key for r in members}
        shared = len(keys) == 1 and all(
            len(t) == len(tables[0]) and (t["subject_id"] == tables[0]["subject_id"]).all() for t in tables
        )
        if not shared and len(keys) != len(members):
            continue  # neither one test set nor one per seed: no level to report
        groups = [t["group"].to_numpy() for t in tables]
        names = sorted(set(groups[0].tolist()))
        counts = np.array([(groups[0] == g).sum() for g in names], dtype=float)
        row = {
            "bias": bias, "init": init, "strategy": strategy, "seeds": len(tables),
            "test_images": len(groups[0]), "test_sets": "shared" if shared else "per seed",
        }  # fmt: skip
        for metric in ("dice", "nsd"):
            if metric not in tables[0] or any(t[metric].isna().all() for t in tables):
                continue
            if shared:
                values = np.stack([t[metric].to_numpy(float) for t in tables])
                boot = partial(two_level_bootstrap, values, groups[0], n_boot=n_boot)
            else:
                boot = partial(nested_bootstrap, [t[metric].to_numpy(float) for t in tables], groups, n_boot=n_boot)
            for k, g in enumerate(names):
                row[f"{metric}_{g}"], row[f"{metric}_{g}_low"], row[f"{metric}_{g}_high"] = boot(lambda m, k=k: m[:, k])
            for name, stat in _level_statistics(counts).items():
                key = {"worst": f"worst_{metric}", "disparity": f"{metric}_disparity", "es": f"es_{metric}"}[name]
                row[key], row[f"{key}_low"], row[f"{key}_high"] = boot(stat)
        rows.append(row)
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.sort_values(["bias", "init"], kind="stable").reset_index(drop=True)
    return table


def levels_markdown(levels: pd.DataFrame) -> list[str]:
    if levels.empty:
        return []
    lines = [
        "## Absolute levels at the final budget (95 % interval over seeds and test images)",
        "",
        "Mean over seeds [two-level bootstrap: seeds resampled and, within each group, test images: "
        "crossed with the seeds where all seeds share one test set, nested in them where each seed drew "
        "its own ('test images' is then per seed)]. An interval over seeds alone would leave out the "
        "test set's sampling error. Paired differences between strategies do not carry that error "
        "in the same way (both sides score the same images): compare strategies with the paired tables.",
        "",
    ]
    cols = [c for c in ("worst_dice", "dice_disparity", "es_dice", "worst_nsd", "nsd_disparity") if c in levels]
    names = {"worst_dice": "worst Dice", "dice_disparity": "disparity", "es_dice": "ES-Dice",
             "worst_nsd": "worst NSD", "nsd_disparity": "NSD disparity"}  # fmt: skip
    for (bias, init), t in levels.groupby(["bias", "init"], sort=False):
        lines += [f"### bias={bias}, init={init}", ""]
        head = ["strategy", "seeds", "test images"] + [names[c] for c in cols]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for _, r in t.iterrows():
            cells = [r["strategy"], str(int(r["seeds"])), str(int(r["test_images"]))]
            for c in cols:
                ok = not np.isnan(r.get(c, np.nan))
                cells.append(f"{r[c]:.3f} [{r[c + '_low']:.3f}, {r[c + '_high']:.3f}]" if ok else "-")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _pm(row: pd.Series, m: str) -> str:
    return f"{row[m]:.3f} ± {row[m + '_sd']:.3f}"


def markdown(
    table: pd.DataFrame, groups: list[str], runs: Sequence[Run], sources: Sequence[str], code: Sequence[str] = ()
) -> str:
    panels: dict[tuple[str, str], set] = {}
    for r in runs:
        panels.setdefault((r.bias, r.init), set()).add(r.test_key)
    test_set = (
        "each seed's group-balanced test set (each seed drew its own cohort)"
        if any(len(keys) > 1 for keys in panels.values())
        else "the fixed, group-balanced test set"
    )
    lines = [
        "# fair_seg_al report",
        "",
        f"Runs: {len(runs)} from {', '.join(f'`{s}`' for s in sources)} (relative to this report).",
        *code,
        f"Final budget: mean ± SD over seeds on {test_set}. Disparity = max - min "
        f"group Dice; reduction is relative to `{REFERENCE}` (positive = smaller disparity). AUC = mean "
        "height of the curve over the labeled budget.",
        "",
    ]
    for (bias, init), t in table.groupby(["bias", "init"], sort=False):
        lines += [f"## bias={bias}, init={init} (n_labeled = {int(t['n_labeled'].max())})", ""]
        head = (
            ["strategy", "seeds"]
            + [f"Dice {g}" for g in groups]
            + ["Dice", "disparity", "ES-Dice", f"disparity vs {REFERENCE}", "AUC Dice", "AUC disparity", "AUC ES-Dice"]
        )
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        best = t["es_dice"].max()
        for _, r in t.iterrows():
            es = _pm(r, "es_dice")
            red = "" if np.isnan(r["disparity_reduction_pct"]) else f"{r['disparity_reduction_pct']:+.0f} %"
            cells = (
                [r["strategy"], str(r["seeds"])]
                + [_pm(r, f"dice_{g}") for g in groups]
                + [
                    _pm(r, "dice"),
                    _pm(r, "dice_disparity"),
                    f"**{es}**" if r["es_dice"] == best else es,
                    red,
                    _pm(r, "auc_dice"),
                    _pm(r, "auc_dice_disparity"),
                    _pm(r, "auc_es_dice"),
                ]
            )
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    failed = [r for r in runs if r.failure]
    lines += ["## Failed or incomplete runs", ""]
    lines += [f"- `{r.path}` ({r.strategy}, {r.bias}, {r.init}, seed {r.seed}): {r.failure}" for r in failed] or [
        "none"
    ]
    lines += ["", "Figures: `dice_groups.png`, `disparity.png`, `es_dice.png`, `acquired_share.png`.", ""]
    return "\n".join(lines)


def _panels(summary: pd.DataFrame):
    panels = sorted({(b, i) for b, i in zip(summary["bias"], summary["init"], strict=True)})
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False, sharey=True)
    return panels, fig, axes[0]


def _band(ax, d: pd.DataFrame, metric: str, color, label, style="-"):
    stats = d.groupby("n_labeled")[metric].agg(["mean", "std"]).fillna(0.0)
    ax.plot(stats.index, stats["mean"], style, color=color, label=label, lw=1.6)
    ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"], color=color, alpha=0.15)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def figures(summary: pd.DataFrame, runs: Sequence[Run], out: Path) -> list[Path]:
    strategies = sorted(summary["strategy"].unique(), key=strategy_order)
    colors = {s: plt.cm.tab10(i) for i, s in enumerate(strategies)}
    groups = _groups(summary)
    # one line style per group; beyond four, markers tell the groups apart
    styles = [ls + mk for mk in ("", "o", "s", "^", "x") for ls in ("-", "--", ":", "-.")]
    group_key = ", ".join(f"{g}: {styles[k % len(styles)]}" for k, g in enumerate(groups))
    written = []
    panels_of = [
        ("dice_groups", [f"dice_{g}" for g in groups], f"Dice per group ({group_key})"),
        ("disparity", ["dice_disparity"], "disparity (max - min group Dice)"),
        ("es_dice", ["es_dice"], "ES-Dice"),
    ]
    if all(f"nsd_{g}" in summary and summary[f"nsd_{g}"].notna().any() for g in groups):  # runs that recorded NSD
        panels_of += [
            ("nsd_groups", [f"nsd_{g}" for g in groups], f"NSD per group ({group_key})"),
            ("nsd_disparity", ["nsd_disparity"], "NSD disparity (max - min group NSD)"),
        ]
    for name, metrics, ylabel in panels_of:
        panels, fig, axes = _panels(summary)
        for ax, (bias, init) in zip(axes, panels, strict=True):
            for s in strategies:
                d = summary[(summary["bias"] == bias) & (summary["init"] == init) & (summary["strategy"] == s)]
                for k, m in enumerate(metrics):
                    _band(ax, d, m, colors[s], s if k == 0 else None, styles[k % len(styles)])
            ax.set_title(f"{bias}, init={init}", fontsize=10)
            ax.set_xlabel("labeled images")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel(ylabel)
        axes[-1].legend(fontsize=8)
        _save(fig, out / f"{name}.png")
        written.append(out / f"{name}.png")
    # share of the last group (the biased one by default) among the images acquired each round
    target = groups[-1] if groups else None
    rows = []
    for r in runs:
        if r.selections is None or target is None:
            continue
        acq = r.selections[r.selections["round"] > 0]
        for rnd, d in acq.groupby("round"):
            rows.append(
                {
                    "bias": r.bias,
                    "init": r.init,
                    "strategy": r.strategy,
                    "seed": r.seed,
                    "n_labeled": rnd,
                    "share": float((d["group"] == target).mean()),
                }
            )
    if rows:
        share = pd.DataFrame(rows)
        panels, fig, axes = _panels(share)
        for ax, (bias, init) in zip(axes, panels, strict=True):
            for s in strategies:
                d = share[(share["bias"] == bias) & (share["init"] == init) & (share["strategy"] == s)]
                _band(ax, d, "share", colors[s], s)
            ax.axhline(1 / max(len(groups), 1), color="grey", lw=0.8, ls=":")  # an even share
            ax.set_title(f"{bias}, init={init}", fontsize=10)
            ax.set_xlabel("acquisition round")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel(f"share of group {target} among acquired")
        axes[-1].legend(fontsize=8)
        _save(fig, out / "acquired_share.png")
        written.append(out / "acquired_share.png")
    return written


def build_report(
    paths: Sequence[str | os.PathLike],
    out: str | os.PathLike | None = None,
    command: str | None = None,
    references: Sequence[str] = REFERENCES,
    allow_mixed_code: bool = False,
) -> Path:
    """Write summary.csv, report.md and the figures; return the output folder.

    Args:
        allow_mixed_code: pool runs of different code (report.md then says so).

    Raises:
        ReportError: no runs, runs of one panel with different test sets, or finished runs of
            different code (unless ``allow_mixed_code``).
    """
    runs = find_runs(paths)
    check_comparable(runs)
    # the finished runs are pooled; a failed job (maybe refused before it wrote anything) is only listed
    codes = check_same_code([r for r in runs if r.failure is None], allow_mixed_code)
    out = Path(out) if out is not None else Path(paths[0]) / "report"
    out.mkdir(parents=True, exist_ok=True)
    summary = summary_table(runs)
    if summary.empty:
        raise ReportError(f"none of the {len(runs)} runs under {', '.join(map(str, paths))} finished a round")
    with atomic_path(out / "summary.csv") as tmp:  # run folders relative to the report: they move with it
        summary.assign(run_dir=[os.path.relpath(p, out.resolve()) for p in summary["run_dir"]]).to_csv(tmp, index=False)
    complete = {str(r.path) for r in runs if r.failure is None}
    table, groups = final_table(summary, complete)
    paired = paired_table(run_metrics(summary, complete), references)
    command = command or "python -m fair_seg_al.analysis.report " + " ".join(map(str, paths)) + (f" --out {out}")
    # sources as seen from the report's folder, like summary.csv's run folders: no machine paths in a shared report
    sources = [os.path.relpath(Path(p).resolve(), out.resolve()) for p in paths]
    text = markdown(table, groups, runs, sources, code_lines(codes)).rstrip("\n").split("\n")
    text[1:1] = ["", f"Produced by: `{command}`"]
    levels = levels_table([r for r in runs if str(r.path) in complete])
    text += [""] + levels_markdown(levels) + paired_markdown(paired)
    atomic_write_text(out / "report.md", "\n".join(text) + "\n")
    with atomic_path(out / "final_table.csv") as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(out / "paired.csv") as tmp:
        paired.to_csv(tmp, index=False)
    if not levels.empty:
        with atomic_path(out / "levels.csv") as tmp:
            levels.to_csv(tmp, index=False)
    else:  # a levels.csv of an earlier, different set of runs would outlive them
        (out / "levels.csv").unlink(missing_ok=True)
    # the figures rest on the same complete runs as the tables (failed ones are listed in report.md)
    if complete:
        figures(summary[summary["run_dir"].isin(complete)], [r for r in runs if r.failure is None], out)
    if not paired.empty:
        paired_figure(paired, out)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="run folders or sweep folders (searched recursively)")
    parser.add_argument("--out", help="output folder (default: <first path>/report)")
    parser.add_argument(
        "--references",
        default=",".join(REFERENCES),
        help="strategies (report labels) every other strategy is compared with, paired by seed (default: %(default)s)",
    )
    parser.add_argument(
        "--allow-mixed-code",
        action="store_true",
        help="pool runs made by different code (by default refused; report.md then names the code versions)",
    )
    args = parser.parse_args(argv)
    try:
        words = list(argv) if argv is not None else sys.argv[1:]
        out = build_report(
            args.paths,
            args.out,
            command="python -m fair_seg_al.analysis.report " + " ".join(words),
            references=[r.strip() for r in args.references.split(",") if r.strip()],
            allow_mixed_code=args.allow_mixed_code,
        )
    except ReportError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    print(out)


if __name__ == "__main__":
    main()
