"""``python -m fair_seg_al.audit [OVERRIDES...] [--out DIR] [--volume-tolerance F] [--gap-tolerance F]``

Composes ``conf/main.yaml`` with the same overrides a run or a sweep takes (``experiment=...``,
``source=folder source.path=...``, ``data.augmentation.enabled=true``), validates it as a run
would, builds the run's cohort and datamodule, and audits each stage of its pipeline per group
(:mod:`fair_seg_al.audit`). Writes ``audit.md``, CSV tables and ``audit.png`` to ``--out``
(default ``logs/audit/<data>-<time>/``). Exit 0: every stage in use keeps the groups' labels
within the tolerances; 1: a stage does not (named on stderr); 2: a bad config or cohort.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

log = logging.getLogger("fair_seg_al.audit")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    from fair_seg_al.audit.report import GAP_TOLERANCE, VOLUME_TOLERANCE

    p = argparse.ArgumentParser(
        prog="python -m fair_seg_al.audit",
        description="Audit every stage of a run's data pipeline for group-differential label distortion.",
    )
    p.add_argument("overrides", nargs="*", help="Hydra overrides, as for python -m fair_seg_al.main")
    p.add_argument("--out", type=Path, default=None, help="output folder (default logs/audit/<data>-<time>)")
    p.add_argument("--subjects-per-group", type=int, default=40, help="subjects audited per group (default 40)")
    p.add_argument("--draws", type=int, default=16, help="random draws per subject for patches, augmentation")
    p.add_argument("--seed", type=int, default=0, help="seed of the subject sample and the draws")
    p.add_argument("--volume-tolerance", type=float, default=VOLUME_TOLERANCE, help="default %(default)s")
    p.add_argument("--gap-tolerance", type=float, default=GAP_TOLERANCE, help="default %(default)s")
    args = p.parse_args(argv)
    if args.subjects_per_group < 2 or args.draws < 1:
        p.error("--subjects-per-group must be >= 2 and --draws >= 1")
    if args.volume_tolerance < 0 or args.gap_tolerance < 0:
        p.error("tolerances must be >= 0")
    return args


def compose_config(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    from fair_seg_al.config import CONF_DIR
    from fair_seg_al.run_identity import register_resolvers

    register_resolvers()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(config_name="main", overrides=list(overrides))


def run(args: argparse.Namespace):
    """Validate, build the run's datamodule, audit, write; returns the :class:`AuditResult`."""
    import hydra
    from omegaconf import OmegaConf

    from fair_seg_al.audit.report import summarise, write
    from fair_seg_al.audit.stages import audit_pipeline
    from fair_seg_al.data.datamodule import check_data_config
    from fair_seg_al.data.source import source_from_config
    from fair_seg_al.run_identity import data_label

    cfg = compose_config(args.overrides)
    # a run's checks of what the pipeline reads (data, source, grids), before any volume is read;
    # the AL settings play no part in the pipeline and are not asked to fit
    preprocessing = check_data_config(OmegaConf.to_container(cfg.data, resolve=True))
    source = source_from_config(cfg)
    source.check_grids(preprocessing)
    cohort = source.cohort(OmegaConf.to_container(cfg.paths, resolve=True))
    dm_cfg = OmegaConf.to_container(cfg.data, resolve=True)
    augmentation = dm_cfg.get("augmentation")
    dm = hydra.utils.get_class(dm_cfg.pop("_target_"))(cohort, **dm_cfg)
    model = OmegaConf.to_container(cfg.model, resolve=True)
    rows, inputs = audit_pipeline(
        dm,
        augmentation,
        model.get("roi_size"),
        float(model.get("sw_overlap", 0.25)),
        subjects_per_group=args.subjects_per_group,
        draws=args.draws,
        seed=args.seed,
        progress=True,
    )
    result = summarise(rows, inputs, dm.groups, args.volume_tolerance, args.gap_tolerance)
    label = data_label(cfg)
    out = args.out or Path(cfg.paths.log_dir) / "audit" / f"{label}-{time.strftime('%Y-%m-%d_%H-%M-%S')}"
    overrides = " ".join(args.overrides) or "(defaults)"
    write(result, out, title=f"Pipeline audit: {label}, {overrides}")
    return result, out


def main(argv: list[str] | None = None) -> int:
    from fair_seg_al.config import ConfigError
    from fair_seg_al.data.errors import CohortFormatError

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse(argv)
    try:
        result, out = run(args)
    except (ConfigError, CohortFormatError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"audit: {out / 'audit.md'}")
    for line in result.imprecise:
        print(f"  imprecise: {line}", file=sys.stderr)
    if result.passed:
        print(
            "audit passed: no stage in use moves a group's label volume, or the groups apart, "
            "beyond the tolerances by more than sampling noise"
        )
        return 0
    print("audit FAILED:", file=sys.stderr)
    for failure in result.failures:
        print(f"  {failure}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
