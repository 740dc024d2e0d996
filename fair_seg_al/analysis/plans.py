"""Study plans as data: a plan (YAML) plus a sweep's runs give the planned verdicts.

    python -m fair_seg_al.analysis.plans PLAN.yaml [--runs DIR ...] [--out DIR]

A plan names its baseline, metrics (``worst_dice`` at the ``final`` round, as the ``auc``, or ``at``
a labelled-set size), the ``better`` direction, an equivalence ``margin`` (a metric entry may declare its own) and its Holm
families; each family compares rules
with a reference, per start. For every comparison, start and metric the per-seed paired
difference gets a t-test (difference) and two one-sided tests (equivalence within the margin);
all tests of a family are Holm-adjusted together; the verdict is resolved better / resolved worse
/ equivalent within +-m / inconclusive (:func:`~fair_seg_al.analysis.stats.equivalence_verdict`).
A plan with ``equivalence: false`` (as the cells planned before margins were) gets the difference
tests alone, Holm-adjusted per family: resolved better / resolved worse / unresolved.
A comparison with ``better: descriptive`` (a metric with no better side, such as group B's share of
the acquired images) gets the difference test alone, in its family's Holm adjustment: resolved
higher / resolved lower / unresolved.
A comparison whose every per-seed difference is exactly 0 (a rule that selects as its reference
does, by construction) is reported as identical and left out of its family's Holm adjustment.
Writes ``verdicts.md``, ``verdicts.csv`` and ``verdicts.png`` (a forest plot) to ``--out``
(default: ``verdicts/<plan name>`` under the working directory, never into the runs' folder, which
may be a committed archive). A plan whose ``post_hoc`` list is not empty (what was chosen after the
results were known) is titled and labelled post hoc in ``verdicts.md`` and in the plot's title; a
family's declared ``tests`` count is checked against the tests it ran. See
docs/plans/minority_rerun.yaml for a plan.

The plan's keys (unknown keys are refused, naming them)::

    baseline: stratified_random
    metrics: [{name: worst_dice, summary: final}, {name: worst_dice, summary: auc}, {name: worst_dice, at: 20}]
    better: higher
    margin: 0.01                                 # needed unless equivalence: false
    equivalence: true                            # false: difference tests alone, three words
    families:
      against_the_counts:
        reference: stratified_random
        comparisons:
          - {strategy: composition_control, inits: [imbalanced]}
          - {strategy: weighted_entropy, inits: [balanced, imbalanced], label: Weighted Entropy}
          - {strategy: weighted_entropy, reference: composition_control, inits: [imbalanced]}
          - {strategy: weighted_entropy, reference: entropy, better: lower,
             metrics: [{name: disparity, summary: final}, {name: nsd_disparity, margin: 0.002}]}
        tests: 32                                # optional, checked against what ran: 16 comparison-start-metrics
                                                 # (two starts in the runs) x (difference, TOST)
    cell: {runs: docs/replication/runs/..., seeds: [0, 35]}   # where the runs are (``--runs`` overrides)
                                                 # and the seeds planned (others are left out)
    post_hoc: []                                 # what was added after the results were known

A strategy is named by its preset (``conf/strategy/<name>.yaml``) or by the label its runs carry
(``masked_entropy.stratified_power``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from fair_seg_al.analysis.stats import equivalence_verdict, holm, paired_summary, tost, verdict
from fair_seg_al.utils.figures import save_png
from fair_seg_al.utils.io import atomic_write_text

PLAN_KEYS = {
    "cell",
    "baseline",
    "metrics",
    "better",
    "margin",
    "families",
    "verdicts",
    "planner",
    "descriptive",
    "post_hoc",
    "equivalence",
}
FAMILY_KEYS = {"reference", "comparisons", "tests"}
COMPARISON_KEYS = {"strategy", "inits", "label", "reference", "better", "metrics"}
METRIC_KEYS = {"name", "summary", "at", "margin"}
SUMMARIES = {"final": "{name}", "auc": "auc_{name}"}
# a comparison's direction; a descriptive one (e.g. a group's share of the acquired images) has no
# better side and no margin: it gets the difference test alone, "resolved higher / lower"
COMPARISON_BETTER = ("higher", "lower", "descriptive")


# the verdict table's columns, in order (the TOST ones only where a plan has equivalence tests)
TABLE_COLUMNS = [
    "family", "strategy", "reference", "init", "metric", "summary", "seeds", "better", "margin",
    "mean", "sd", "ci_low", "ci_high", "t_p", "tost_p", "p_holm", "tost_p_holm", "verdict",
]  # fmt: skip


class PlanError(ValueError):
    """A plan that cannot be read, naming the file and key at fault."""


def load_plan(path: str | os.PathLike) -> dict:
    """Read and check a plan.

    Raises:
        PlanError: naming the key at fault.
    """
    path = Path(path)
    try:
        plan = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise PlanError(f"{path}: cannot read the plan ({err})") from None
    if not isinstance(plan, dict):
        raise PlanError(f"{path}: a plan is a mapping of keys, got {type(plan).__name__}")

    def need(ok: bool, key: str, message: str) -> None:
        if not ok:
            raise PlanError(f"{path}: {key}: {message}")

    unknown = set(plan) - PLAN_KEYS
    need(not unknown, ", ".join(sorted(unknown)), f"unknown key(s); a plan has {sorted(PLAN_KEYS)}")
    need(plan.get("equivalence", True) in (True, False), "equivalence", "must be true or false")
    if plan.get("equivalence", True) or "margin" in plan:  # difference tests alone need no margin
        need(isinstance(plan.get("margin"), int | float) and plan["margin"] > 0, "margin", "must be a number > 0")
    need(plan.get("better", "higher") in ("higher", "lower"), "better", "must be higher or lower")
    metrics = plan.get("metrics")
    need(isinstance(metrics, list) and metrics, "metrics", "must list {name, summary} entries")
    _check_metrics(metrics, "metrics", need)
    families = plan.get("families")
    need(isinstance(families, dict) and families, "families", "must map family names to {reference, comparisons}")
    for name, family in families.items():
        key = f"families.{name}"
        need(isinstance(family, dict), key, "must be a mapping")
        unknown = set(family) - FAMILY_KEYS
        need(not unknown, f"{key}.{', '.join(sorted(unknown))}", f"unknown key(s); a family has {sorted(FAMILY_KEYS)}")
        need("reference" in family or "baseline" in plan, f"{key}.reference", "missing (and no plan baseline)")
        comparisons = family.get("comparisons")
        need(isinstance(comparisons, list) and comparisons, f"{key}.comparisons", "must list {strategy, inits}")
        for i, c in enumerate(comparisons):
            need(isinstance(c, dict) and "strategy" in c, f"{key}.comparisons[{i}]", "needs a strategy")
            unknown = set(c) - COMPARISON_KEYS
            need(not unknown, f"{key}.comparisons[{i}].{', '.join(sorted(map(str, unknown)))}",
                 f"unknown key(s); a comparison has {sorted(COMPARISON_KEYS)}")  # fmt: skip
            need(
                c.get("better", "higher") in COMPARISON_BETTER,
                f"{key}.comparisons[{i}].better",
                "must be higher, lower or descriptive",
            )
            need(isinstance(c.get("inits", []), list), f"{key}.comparisons[{i}].inits", "must be a list of starts")
            own = c.get("metrics", [])
            need(isinstance(own, list), f"{key}.comparisons[{i}].metrics", "must list {name, ...} entries")
            _check_metrics(own, f"{key}.comparisons[{i}].metrics", need)
            if c.get("better") == "descriptive":  # no better side, so no smallest effect of interest
                need(
                    not any("margin" in m for m in own),
                    f"{key}.comparisons[{i}].metrics",
                    "a descriptive comparison has no margin (it gets the difference test alone)",
                )
        tests = family.get("tests")
        need(tests is None or (type(tests) is int and tests > 0), f"{key}.tests", "must be a whole number > 0")
    post_hoc = plan.get("post_hoc", [])
    need(
        isinstance(post_hoc, list) and all(isinstance(x, str) for x in post_hoc),
        "post_hoc",
        "must list what was chosen after the results were known, as text ([] for none)",
    )
    cell = plan.get("cell", {})
    need(isinstance(cell, dict), "cell", "must be a mapping (preset, runs, seeds, ...)")
    seeds = cell.get("seeds")
    if seeds is not None:
        need(
            isinstance(seeds, list) and len(seeds) == 2 and all(type(s) is int for s in seeds) and seeds[0] <= seeds[1],
            "cell.seeds",
            f"must be [first, last], whole numbers, first <= last (got {seeds!r})",
        )
    return plan


def planned_seeds(plan: Mapping) -> range:
    """The seeds a plan commits to: ``cell.seeds: [first, last]``, both included."""
    first, last = plan["cell"]["seeds"]
    return range(first, last + 1)


def planned_runs(metrics: pd.DataFrame, plan: Mapping) -> pd.DataFrame:
    """The runs of a plan's seeds (``cell.seeds``) only, all runs where it declares none: a seed run
    beyond the plan (by mistake, or to look again) never enters its verdicts."""
    if (plan.get("cell") or {}).get("seeds") is None:
        return metrics
    return metrics[metrics["seed"].isin(planned_seeds(plan))]


def _check_metrics(metrics: Sequence, key: str, need) -> None:
    """A list of metric entries: each checked, none asked twice (it would count twice in Holm)."""
    for j, m in enumerate(metrics):
        need(isinstance(m, dict) and "name" in m, f"{key}[{j}]", "needs a name, e.g. worst_dice")
        _check_metric(m, f"{key}[{j}]", need)
    columns = [metric_column(m)[0] for m in metrics]
    twice = sorted({c for c in columns if columns.count(c) > 1})
    need(not twice, key, f"asks {', '.join(twice)} more than once")


def _check_metric(metric: Mapping, key: str, need) -> None:
    """A metric entry: a summary (``final``, ``auc``) or ``at`` a labelled-set size, and its margin."""
    unknown = set(metric) - METRIC_KEYS
    need(
        not unknown,
        f"{key}.{', '.join(sorted(map(str, unknown)))}",
        f"unknown key(s); a metric has {sorted(METRIC_KEYS)}",
    )
    need(metric.get("summary", "final") in SUMMARIES, f"{key}.summary", f"must be one of {sorted(SUMMARIES)}")
    if "at" in metric:
        need("summary" not in metric, key, "give a summary or at, not both")
        need(
            type(metric["at"]) is int and metric["at"] > 0,
            f"{key}.at",
            "must be a labelled-set size, a whole number > 0",
        )
    if "margin" in metric:
        need(
            isinstance(metric["margin"], int | float) and metric["margin"] > 0, f"{key}.margin", "must be a number > 0"
        )


def metric_column(metric: Mapping) -> tuple[str, str]:
    """A plan's metric entry as (column of the run metrics table, summary as reported)."""
    if "at" in metric:
        return f"{metric['name']}_at_{metric['at']}", f"at {metric['at']}"
    summary = metric.get("summary", "final")
    return SUMMARIES[summary].format(name=metric["name"]), summary


def _metric_entries(plan: Mapping) -> list[Mapping]:
    """Every metric entry of a plan: its own and those its comparisons ask."""
    own = [m for f in plan["families"].values() for c in f["comparisons"] for m in c.get("metrics", [])]
    return [*plan["metrics"], *own]


def plan_budgets(plan: Mapping) -> list[int]:
    """The labelled-set sizes a plan's metrics ask for (``at``), in order."""
    return sorted({m["at"] for m in _metric_entries(plan) if "at" in m})


def _title(plan: Mapping) -> str:
    return "Post hoc verdicts" if plan.get("post_hoc") else "Planned verdicts"


@cache  # a Hydra compose per call: a plan asks for the same few presets again and again
def _preset_strategy(name: str):
    """The composed ``strategy`` config of preset ``name``, or None where no preset has that name."""
    from hydra import compose, initialize_config_dir

    from fair_seg_al.config import CONF_DIR

    if not (Path(CONF_DIR) / "strategy" / f"{name}.yaml").is_file():
        return None
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(config_name="main", overrides=[f"strategy={name}"]).strategy


def preset_label(name: str) -> str:
    """The label runs of strategy preset ``name`` carry (``name`` itself where no preset has it)."""
    from fair_seg_al.run_identity import strategy_label

    strategy = _preset_strategy(name)
    return name if strategy is None else strategy_label(strategy)


def preset_reads_test_set(name: str) -> bool:
    """Whether preset ``name`` selects with the test set (an oracle control, never a candidate), by the
    rule that labels its runs (:func:`~fair_seg_al.analysis.runs.run_label`)."""
    from omegaconf import OmegaConf

    strategy = _preset_strategy(name)
    return strategy is not None and OmegaConf.select(strategy, "estimator.name") == "oracle"


def _label_of(run_labels: set[str], name: str) -> str:
    """A plan's strategy name as the runs spell it: the runs' own label, or its preset's label
    (an oracle's label carries a suffix such as `` (oracle control)``: matched by prefix)."""
    for candidate in (name, preset_label(name)):
        matches = [label for label in run_labels if label == candidate or label.startswith(candidate + " (")]
        if len(matches) == 1:
            return matches[0]
    return preset_label(name)


def verdict_table(metrics: pd.DataFrame, plan: Mapping) -> pd.DataFrame:
    """Every planned test from a per-run metrics table (``strategy``, ``init``, ``seed`` and the
    metric columns, e.g. :func:`~fair_seg_al.analysis.comparisons.run_metrics`): one row per
    family, comparison, start and metric, with the paired summary, TOST p and both Holm-adjusted
    p-values (over the family's difference and equivalence tests together) and the verdict.

    Comparisons with no complete pair of runs get a row saying so (``seeds`` 0, verdict
    ``no runs``), so a plan's missing cells show.
    """
    better = plan.get("better", "higher")
    equivalence = plan.get("equivalence", True)
    for m in _metric_entries(plan):  # every column the plan reads, checked once
        column, summary = metric_column(m)
        if column not in metrics:
            raise PlanError(f"metric {m['name']} ({summary}): the runs' metrics have no {column}")
        if "at" in m and metrics[column].isna().all():
            raise PlanError(f"metric {m['name']} (at {m['at']}): no run had {m['at']} labelled images")
    labels = set(metrics["strategy"])
    rows = []
    for family_name, family in plan["families"].items():
        start = len(rows)
        for comparison in family["comparisons"]:
            # a comparison may name its own reference (one family, two questions, as a cell planned it)
            reference = _label_of(labels, comparison.get("reference", family.get("reference", plan.get("baseline"))))
            strategy = _label_of(labels, comparison["strategy"])
            inits = comparison.get("inits") or sorted(set(metrics["init"]))
            for init in inits:
                of_init = metrics[metrics["init"] == init]
                # a comparison may ask its own metrics and direction (a disparity: lower is better)
                for m in comparison.get("metrics", plan["metrics"]):
                    column, summary = metric_column(m)
                    a = of_init[of_init["strategy"] == strategy].set_index("seed")[column]
                    b = of_init[of_init["strategy"] == reference].set_index("seed")[column]
                    diffs = (a - b).dropna()
                    direction = comparison.get("better", better)
                    descriptive = direction == "descriptive"
                    # one margin per metric, else the plan's; a descriptive comparison has none
                    margin = np.nan if descriptive else float(m.get("margin", plan.get("margin", np.nan)))
                    row = {
                        "family": family_name,
                        "strategy": comparison.get("label", strategy),
                        "reference": reference,
                        "init": init,
                        "metric": m["name"],
                        "summary": summary,
                        "seeds": len(diffs),
                        "better": direction,
                        "margin": margin,
                    }
                    if len(diffs) >= 2 and not (diffs == 0).all():
                        p = paired_summary(diffs.to_numpy(), n_boot=2000)
                        row |= {"mean": p.mean, "sd": p.sd, "ci_low": p.ci_low, "ci_high": p.ci_high, "t_p": p.t_p}
                        row["_summary"] = p
                        if equivalence and not descriptive:
                            row["tost_p"] = tost(diffs.to_numpy(), margin)
                    rows.append(row)
        family_rows = rows[start:]
        tested = [r for r in family_rows if "_summary" in r]
        # one Holm family: every difference test, then every TOST (none for a descriptive comparison)
        with_tost = [r for r in tested if "tost_p" in r]
        adjusted = holm([r["t_p"] for r in tested] + [r["tost_p"] for r in with_tost])
        for r, p_diff in zip(tested, adjusted[: len(tested)], strict=True):
            r["p_holm"] = r["_summary"].p_adjusted = float(p_diff)
        for r, p_tost in zip(with_tost, adjusted[len(tested) :], strict=True):
            r["tost_p_holm"] = float(p_tost)
        for r in tested:
            if "tost_p" in r:
                r["verdict"] = equivalence_verdict(r["_summary"], r["margin"], r["tost_p_holm"], r["better"])
            else:  # no margin (a plan written before margins, or a descriptive metric): three words
                r["verdict"] = verdict(r["_summary"], r["better"])
        for r in family_rows:
            r.pop("_summary", None)
            r.setdefault("verdict", _untested(r["seeds"]))
    table = pd.DataFrame(rows)
    return table[[c for c in TABLE_COLUMNS if c in table]]  # one order, whatever the first row holds


def _untested(seeds: int) -> str:
    if seeds == 0:
        return "no runs"
    if seeds < 2:
        return f"too few seeds ({seeds})"
    return f"identical in all {seeds} seeds (by construction; not tested)"


def markdown(table: pd.DataFrame, plan: Mapping, command: str, note: str | None = None) -> str:
    post_hoc = plan.get("post_hoc") or []
    equivalence = plan.get("equivalence", True)
    how = (
        f"Margin +-{plan['margin']:g} unless a metric declares its own; each family's difference tests and "
        "equivalence tests (TOST) are Holm-adjusted together"
        if equivalence
        else "No margin (difference tests only); each family's tests are Holm-adjusted together"
    )
    if "better" in table and (table["better"] == "descriptive").any():
        how += " (a descriptive comparison, with no better side, gets the difference test alone)"
    lines = [
        f"# {_title(plan)}",
        "",
        *([f"**{note}**", ""] if note else []),
        *([f"**Chosen after the results were known (post hoc): {'; '.join(post_hoc)}.**", ""] if post_hoc else []),
        f"Produced by: `{command}`. {how}; intervals are 95 % paired t-intervals over seeds (unadjusted).",
    ]
    for family, t in table.groupby("family", sort=False):
        ran = sum(int(t[c].notna().sum()) for c in ("t_p", "tost_p") if c in t)  # differences and TOSTs
        declared = plan["families"][family].get("tests")
        differs = f"; the plan declared {declared}" if declared is not None and declared != ran else ""
        lines += [
            "",
            f"## {family} ({ran} tests{differs})",
            "",
            "| rule | reference | start | metric | seeds | verdict |",
            "|---|---|---|---|---|---|",
        ]
        for r in t.itertuples():
            lines.append(
                f"| {r.strategy} | {r.reference} | {r.init} | {r.metric} ({r.summary}) | {r.seeds} | {r.verdict} |"
            )
    return "\n".join(lines) + "\n"


VERDICT_COLORS = {"resolved better": "C2", "resolved worse": "C3", "equivalent": "C0", "inconclusive": "0.5"}
VERDICT_COLORS |= {"resolved higher": "C1", "resolved lower": "C1"}  # a descriptive comparison: no better side


def forest(table: pd.DataFrame, path: Path, title: str | None = None) -> None:
    """Each tested row's paired difference and 95 % interval, coloured by its verdict, over the row's
    margin. Descriptive comparisons (another scale, no margin) get a panel and an axis of their own,
    so that they do not squeeze the margins of the rest into the zero line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = table[table["t_p"].notna()].reset_index(drop=True) if "t_p" in table else table.iloc[:0]
    descriptive = t["better"] == "descriptive" if "better" in t else pd.Series(False, index=t.index)
    graded, other = t[~descriptive].reset_index(drop=True), t[descriptive].reset_index(drop=True)
    if other.empty:
        fig, ax = plt.subplots(figsize=(8, 0.3 * len(t) + 1.5))
    else:
        fig, (ax, below) = plt.subplots(
            2, 1, figsize=(8, 0.3 * len(t) + 2.5), height_ratios=[len(graded) + 1, len(other) + 1]
        )
    _forest_panel(ax, graded, "paired difference, 95 % t-interval (shaded: the row's margin)")
    if not other.empty:
        _forest_panel(below, other, "descriptive comparisons (no better side, no margin): paired difference")
    if title:
        ax.set_title(title)
    save_png(fig, path, crop=True)  # the row labels are long: the image grows to hold them


def _forest_panel(ax, t: pd.DataFrame, xlabel: str) -> None:
    labels = [f"{r.strategy} - {r.reference}, {r.init}, {r.metric} ({r.summary})" for r in t.itertuples()]
    for i, r in t.iterrows():
        color = next((c for k, c in VERDICT_COLORS.items() if r["verdict"].startswith(k)), "0.5")
        ax.plot([r["ci_low"], r["ci_high"]], [i, i], color=color)
        ax.plot(r["mean"], i, "o", color=color)
        if np.isfinite(r["margin"]):  # a plan without equivalence tests has none
            ax.fill_betweenx([i - 0.4, i + 0.4], -r["margin"], r["margin"], color="0.92", zorder=0)
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_yticks(np.arange(len(t)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)


def run_metrics_of(folders: Sequence[str | os.PathLike], plans: Sequence[Mapping] = ()) -> pd.DataFrame:
    """The per-run metrics table of the finished runs under ``folders`` (sweeps or archives), read
    once, with the metrics at every labelled-set size the ``plans`` ask for (:func:`plan_budgets`)."""
    from fair_seg_al.analysis.comparisons import run_metrics
    from fair_seg_al.analysis.runs import find_runs, summary_table

    runs = find_runs([Path(f) for f in folders])
    complete = {str(r.path) for r in runs if r.failure is None}
    at = sorted({n for plan in plans for n in plan_budgets(plan)})
    return run_metrics(summary_table(runs), complete, at)


def write_verdicts(table: pd.DataFrame, plan: Mapping, out: Path, command: str, note: str | None = None) -> str:
    """verdicts.csv, verdicts.md and verdicts.png in ``out``; returns the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "verdicts.csv", table.to_csv(index=False, float_format="%.6f"))
    text = markdown(table, plan, command, note)
    atomic_write_text(out / "verdicts.md", text)
    forest(table, out / "verdicts.png", _title(plan) if plan.get("post_hoc") else None)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    from fair_seg_al.analysis.runs import ReportError

    p = argparse.ArgumentParser(prog="python -m fair_seg_al.analysis.plans", description=__doc__.split("\n\n")[0])
    p.add_argument("plan", type=Path)
    p.add_argument("--runs", type=Path, nargs="*", help="sweep or archive folders (default: the plan's cell.runs)")
    p.add_argument("--out", type=Path, default=None, help="where to write (default: verdicts/<plan name>)")
    p.add_argument("--note", default=None, help="a line under the title, e.g. that the plan is applied post hoc")
    args = p.parse_args(argv)
    words = list(argv) if argv is not None else sys.argv[1:]
    command = "python -m fair_seg_al.analysis.plans " + shlex.join(words)
    try:
        plan = load_plan(args.plan)
        folders = args.runs or [Path((plan.get("cell") or {}).get("runs", ""))]
        metrics = planned_runs(run_metrics_of(folders, [plan]), plan)
        table = verdict_table(metrics, plan)
    except (PlanError, ReportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(write_verdicts(table, plan, args.out or Path("verdicts") / args.plan.stem, command, args.note))
    return 0


if __name__ == "__main__":
    sys.exit(main())
