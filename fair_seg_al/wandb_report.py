"""The W&B comparison of a sweep as code: a report built with ``wandb-workspaces``.

One section per bias x init (a heading and a panel grid), each over its own run set: the
sweep's runs (W&B group = ``sweep_name``) of that bias and start, oracle controls
(tag ``control=oracle``) left out, grouped by strategy (``config.labels.strategy``) so every
line plot shows each strategy's mean over seeds with a std-dev band. The panels are the
report's figures, on the ``al/round`` axis: the Dice of each group, the disparity, the
equity-scaled Dice and how many group-B images each strategy acquired.

Why a report and not a saved workspace view: a ``wandb_workspaces`` Workspace has one run set
for all its sections (sections hold panels, not filters), so its sections cannot each show one
bias x init; a report's panel grids each carry their own filtered, grouped run set.

:func:`comparison_report` builds the spec without any network; ``python -m
fair_seg_al.wandb_report ... --dry-run`` prints it as JSON, and without ``--dry-run`` it is
saved to W&B (after ``wandb login`` or with ``WANDB_API_KEY``). See docs/wandb.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from omegaconf import OmegaConf

from fair_seg_al.config import CONF_DIR

#: the version range this module was written and tested against (pyproject.toml holds the same)
REQUIREMENT = "wandb-workspaces>=0.4.13,<0.5"
#: the tag fair_seg_al.loggers.wandb_logger puts on runs whose selection reads the test set
ORACLE_TAG = "control=oracle"
#: the step metric of every ``al/*`` metric (``define_metric("al/*", step_metric="al/round")``)
X_AXIS = "al/round"
#: the report's figures: (metric on the al/round axis, panel title)
PANELS: tuple[tuple[str, str], ...] = (
    ("al/dice_A", "Dice, group A"),
    ("al/dice_B", "Dice, group B"),
    ("al/dice_disparity", "Disparity (|Dice A - Dice B|)"),
    ("al/es_dice", "Equity-scaled Dice"),
    ("al/n_labeled_B", "Group-B images labeled"),
)
#: the config key the runs are grouped by: the strategy label (name plus any non-default
#: estimator and composition, as in run names; fair_seg_al.loggers logs it), so variants such as
#: ``weighted_entropy.holdout.quota`` keep their own line. Runs logged before the key existed:
#: ``--group-by strategy.name`` (their variants then share a line).
GROUP_BY = "labels.strategy"
AGGREGATION = "mean"
SPREAD = "stddev"


class SpecError(ValueError):
    """A bad input to the comparison spec; ``option`` names the command-line option."""

    def __init__(self, option: str, message: str):
        super().__init__(f"--{option}: {message}")
        self.option = option


def presets(group: str, conf_dir: str | Path = CONF_DIR) -> list[str]:
    """The ``name`` of every preset of a config group (``bias``, ``init``), in file order."""
    folder = Path(conf_dir) / group
    return [str(OmegaConf.load(f).get("name", f.stem)) for f in sorted(folder.glob("*.yaml"))]


def _import_library():
    try:
        import wandb_workspaces.reports.v2 as wr
        from wandb_workspaces import expr
    except ImportError as err:
        raise ImportError(
            f"the W&B comparison needs wandb-workspaces ({err}): install it with "
            f"`.venv/bin/pip install '{REQUIREMENT}'` (or `make install`, which installs it with the package)"
        ) from err
    return wr, expr


def _name(option: str, value: str | None) -> str:
    if value is None or not str(value).strip():
        raise SpecError(option, "must be a non-empty name")
    return str(value).strip()


def _values(option: str, values: Sequence[str] | None, known: list[str]) -> list[str]:
    """``values`` (or every preset when None), checked: non-empty, no repeats, each a preset."""
    out = list(known) if values is None else [str(v).strip() for v in values]
    if not out or any(not v for v in out):
        raise SpecError(option, f"needs one or more non-empty names, got {values!r}")
    if len(set(out)) != len(out):
        raise SpecError(option, f"names a value twice: {out}")
    unknown = [v for v in out if known and v not in known]
    if unknown:
        raise SpecError(option, f"unknown {option} {unknown}; the presets in conf/{option}/ are {known}")
    return out


def section_name(bias: str, init: str) -> str:
    """The heading of the bias x init section (and the name of its run set)."""
    return f"bias={bias} x init={init}"


def comparison_report(
    entity: str,
    project: str,
    sweep: str,
    biases: Sequence[str] | None = None,
    inits: Sequence[str] | None = None,
    group_by: str = GROUP_BY,
    title: str | None = None,
    conf_dir: str | Path = CONF_DIR,
):
    """The comparison report of ``sweep`` (a ``wandb_workspaces.reports.v2.Report``), built
    without any network: one section per bias x init (``biases``/``inits``: None for every
    preset in ``conf/bias/`` and ``conf/init/``). Raises :class:`SpecError` for bad input."""
    entity, project, sweep = _name("entity", entity), _name("project", project), _name("sweep", sweep)
    group_by = _name("group-by", group_by)
    biases = _values("bias", biases, presets("bias", conf_dir))
    inits = _values("init", inits, presets("init", conf_dir))
    wr, expr = _import_library()

    blocks = [
        wr.P(
            f"Runs of the sweep {sweep} (W&B group), oracle controls ({ORACLE_TAG}) left out, grouped by "
            f"config.{group_by}: each line is a strategy's {AGGREGATION} over seeds, the band one {SPREAD}."
        )
    ]
    for bias in biases:
        for init in inits:
            name = section_name(bias, init)
            blocks += [
                wr.H2(name),
                wr.PanelGrid(
                    runsets=[_runset(wr, expr, entity, project, name, sweep, bias, init, group_by)],
                    panels=[
                        wr.LinePlot(
                            title=panel_title,
                            x=X_AXIS,
                            y=[metric],
                            groupby=wr.Config(group_by),
                            groupby_aggfunc=AGGREGATION,
                            groupby_rangefunc=SPREAD,
                            smoothing_type="none",
                        )
                        for metric, panel_title in PANELS
                    ],
                ),
            ]
    return wr.Report(
        entity=entity,
        project=project,
        title=(title or f"{sweep}: strategies compared")[:128],
        description=f"fair_seg_al sweep {sweep}, one section per bias x init (made by fair_seg_al.wandb_report)",
        blocks=blocks,
        width="fluid",
    )


def _runset(wr, expr, entity, project, name, sweep, bias, init, group_by):
    """The section's run set: the sweep's runs of this bias and init, no oracle control."""
    where = expr.And(
        expr.Metric("Group") == sweep,
        expr.Config("bias.name") == bias,
        expr.Config("init.name") == init,
        expr.Tags().notin([ORACLE_TAG]),
    )
    runset = wr.Runset(entity=entity, project=project, name=name, filters=where, groupby=[f"config.{group_by}"])
    # The run set keeps its filters as a display string and parses it again on save, and that
    # parser (wandb-workspaces 0.4.13) turns the "=" inside 'control=oracle' into "==", so the
    # exclusion would match no tag. Hand it the filter tree built from the expressions instead:
    # it sends a stashed tree as is while the string is unchanged (as for a loaded report).
    runset._stashed_filters_v2 = expr.filters_tree_to_v2(where.to_model())
    runset._stashed_filter_string = runset.filters
    return runset


def describe(report) -> dict:
    """The report's spec as plain data, read from the object itself: its sections (heading,
    run set filters as W&B will receive them, grouping) and their panels."""
    from wandb_workspaces.reports.v2 import H2, LinePlot, PanelGrid

    sections, heading = [], None
    for block in report.blocks:
        if isinstance(block, H2):
            heading = str(block.text)
        elif isinstance(block, PanelGrid):
            runset = block.runsets[0]
            sections.append(
                {
                    "name": heading,
                    "runset": {
                        "name": runset.name,
                        "entity": runset.entity,
                        "project": runset.project,
                        "filters": runset._stashed_filters_v2["filters"],
                        "groupby": list(runset.groupby),
                    },
                    "panels": [
                        {
                            "type": type(p).__name__,
                            "title": p.title,
                            "x": p.x,
                            "y": list(p.y),
                            "groupby": f"config.{p.groupby.name}" if p.groupby is not None else None,
                            "aggregation": p.groupby_aggfunc,
                            "spread": p.groupby_rangefunc,
                        }
                        for p in block.panels
                        if isinstance(p, LinePlot)
                    ],
                }
            )
    return {
        "kind": "report",
        "entity": report.entity,
        "project": report.project,
        "title": report.title,
        "sections": sections,
    }


def _split(text: str | None) -> list[str] | None:
    return None if text is None else [v.strip() for v in text.split(",")]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fair_seg_al.wandb_report",
        description="Build the W&B comparison report of a sweep (one section per bias x init, "
        "strategies as mean +- std over seeds, oracle controls left out) and save it, or print it.",
    )
    parser.add_argument("--entity", required=True, help="W&B entity (user or team) that owns the project")
    parser.add_argument("--project", default="fair_seg_al", help="W&B project (default: %(default)s, the logger's)")
    parser.add_argument("--sweep", required=True, help="the sweep's sweep_name (its runs' W&B group), e.g. sweep_cpu")
    parser.add_argument("--bias", help="comma-separated bias presets (default: every conf/bias/*.yaml)")
    parser.add_argument("--init", help="comma-separated init presets (default: every conf/init/*.yaml)")
    parser.add_argument(
        "--group-by", default=GROUP_BY, help="config key the runs are grouped by (default: %(default)s)"
    )
    parser.add_argument("--title", help="the report's title (default: '<sweep>: strategies compared')")
    parser.add_argument("--dry-run", action="store_true", help="print the spec as JSON; no network, nothing saved")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        report = comparison_report(
            args.entity,
            args.project,
            args.sweep,
            biases=_split(args.bias),
            inits=_split(args.init),
            group_by=args.group_by,
            title=args.title,
        )
    except SpecError as err:
        parser.error(str(err))
    except ImportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.dry_run:
        print(json.dumps(describe(report), indent=2))
        return 0
    try:
        report.save()
    except Exception as err:  # not logged in, no such entity/project, no network
        print(
            f"error: saving the report to {args.entity}/{args.project} failed: {err}\n"
            "(it needs `wandb login` or WANDB_API_KEY, and the project's runs uploaded with `make sync`)",
            file=sys.stderr,
        )
        return 1
    print(f"saved: {report.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
