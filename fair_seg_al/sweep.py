"""What a multirun does before its jobs start: generate every synthetic cohort it needs, once.

Without this, a fresh SLURM array of the paper grid starts 64 jobs that all wait on one cohort
lock while the first job generates (64 GPUs idle). :class:`PrepareCohorts` is a Hydra callback
(``hydra.callbacks.prepare_cohorts`` in ``conf/hydra/al.yaml``): in the process that launches
the sweep, it expands the sweep as Hydra's basic sweeper will, composes each job's config and
generates each distinct cohort with every core, before any job is submitted. Jobs then find
their cohort in the cache. Jobs on a user's cohort folder need nothing generated.

Turn it off with ``hydra.callbacks.prepare_cohorts.enabled=false`` (e.g. when the launching
machine is a login node that should not run the generator); each job then generates or waits
for its cohort under the cache's lock, as before.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from hydra import compose
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def sweep_jobs(config: DictConfig) -> list[list[str]] | None:
    """Each job's overrides, in launch order, as Hydra's basic sweeper expands them (None for other sweepers)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    if config.hydra.sweeper.get("_target_") != BASIC_SWEEPER:
        return None
    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()] + list(config.hydra.overrides.task)
    overrides = OverridesParser.create().parse_overrides(arguments)
    return [job for batch in BasicSweeper.split_arguments(overrides, None) for job in batch]


class PrepareCohorts(Callback):
    """Generate a sweep's synthetic cohorts in the launching process, before its jobs start.

    Args:
        enabled: off, the jobs generate their cohorts themselves (under the cache's lock).
        num_workers: generator processes (``"auto"``: every core of the launching machine).
    """

    def __init__(self, enabled: bool = True, num_workers: int | str = "auto") -> None:
        self.enabled, self.num_workers = enabled, num_workers

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not self.enabled:
            return
        from fair_seg_al.config import ConfigError
        from fair_seg_al.data.source import source_kind

        jobs = sweep_jobs(config)
        if jobs is None:
            log.info("prepare_cohorts: not the basic sweeper; each job generates its own cohort")
            return
        tic = time.perf_counter()
        needed: dict[str, tuple] = {}
        for overrides in jobs:
            try:
                cfg = compose(config_name=config.hydra.job.config_name, overrides=overrides)
                source = source_kind(cfg)
                key = source.prepare_key(cfg)
            except Exception as err:  # the job itself reports its config error, with its file
                log.warning("prepare_cohorts: job %s left to report its own error (%s)", " ".join(overrides), err)
                continue
            if key is not None:  # None: e.g. a user's folder, nothing to generate
                needed.setdefault(key, (source, cfg))
        for source, cfg in needed.values():
            try:
                source.prepare(cfg, num_workers=self.num_workers)
            except ConfigError as err:  # the jobs report it, each with its file
                log.warning("prepare_cohorts: a cohort left to its jobs to report (%s)", err)
        log.info(
            "prepare_cohorts: %d job(s) need %d cohort(s) prepared, ready after %.1f s",
            len(jobs),
            len(needed),
            time.perf_counter() - tic,
        )
