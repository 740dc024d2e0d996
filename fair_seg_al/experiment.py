"""Validate an experiment config, then build and run it. Used by :mod:`fair_seg_al.main`.

Everything that can be checked without training is checked first, so a bad config fails
in seconds with the offending key named, before any cohort is generated or model trained.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from fair_seg_al.al.evaluation import MetricSettings
from fair_seg_al.al.loop import ActiveLearningLoop, check_trainer
from fair_seg_al.al.spec import ALSettings, RunSpec
from fair_seg_al.al.state import STATE_FILE, check_same_config, load_state, parse_resume
from fair_seg_al.config import ConfigError, config_source, require, to_dataclass
from fair_seg_al.data.datamodule import ALDataModule, check_data_config
from fair_seg_al.data.pool import initial_fractions
from fair_seg_al.data.source import CohortSource, source_from_config
from fair_seg_al.data.splits import pool_sizes
from fair_seg_al.estimation import GroupPerformanceEstimator
from fair_seg_al.loggers import build_callbacks, build_loggers, check_loggers, wandb_run_id
from fair_seg_al.run_identity import experiment_hash
from fair_seg_al.strategies import Strategy
from fair_seg_al.strategies.factory import build_probes, build_strategy, check_needs
from fair_seg_al.utils.io import atomic_write_json
from fair_seg_al.utils.locks import LockTimeoutError, check_lock_config, folder_lock
from fair_seg_al.utils.provenance import record_provenance
from fair_seg_al.utils.threads import available_cores, job_threads

log = logging.getLogger(__name__)


class RunExistsError(ConfigError):
    """The run folder already holds an AL run and resume was not asked for."""


class RunLockedError(RunExistsError):
    """Another process is running this run folder (e.g. a second ``resume=true``)."""


RUN_LOCK = ".al_run.lock"


@contextlib.contextmanager
def run_folder_lock(run_dir: Path, kind: str = "auto"):
    """Hold the run folder for this process: a second process on the same folder is refused at once."""
    try:
        with folder_lock(run_dir / RUN_LOCK, kind, timeout_s=0):
            yield
    except LockTimeoutError:
        raise RunLockedError(
            f"resume: {run_dir} is being run by another process (it holds {RUN_LOCK}); wait for it to finish or stop it"
        ) from None


@dataclass
class Prepared:
    """A validated experiment, ready to run."""

    source: CohortSource
    settings: ALSettings
    metrics: MetricSettings
    fractions: dict[str, float]
    strategy: Strategy
    probes: dict[str, GroupPerformanceEstimator]
    config_hash: str


def validate(cfg: DictConfig) -> Prepared:
    """Check the whole config before any work: each concept checks its own part, in this order.

    Raises:
        ConfigError: naming the key (and file) at fault.
        CohortFormatError: the user's cohort folder is not valid.
    """
    check_lock_config(cfg.paths)
    require(isinstance(cfg.seed, int) and cfg.seed >= 0, "seed", f"must be an integer >= 0, got {cfg.seed}")
    settings = to_dataclass(ALSettings, cfg.al, "al")
    metrics = to_dataclass(MetricSettings, cfg.metrics, "metrics")
    check_trainer(cfg.trainer)
    check_loggers(cfg)
    preprocessing = check_data_config(OmegaConf.to_container(cfg.data, resolve=True))
    source = source_from_config(cfg)  # a user's folder is read and validated here
    sizes = source.group_sizes()
    try:
        fractions = initial_fractions(OmegaConf.to_container(cfg.init, resolve=True), sizes)
    except ValueError as err:
        raise ConfigError(f"init.{err} (set in {config_source('init')})") from None
    settings.check_fits(pool_sizes(cfg.data, sizes, source.roster()), fractions)
    source.check_grids(preprocessing)
    strategy, probes = build_strategy(cfg), build_probes(cfg)
    check_needs(strategy, probes, cfg)
    return Prepared(source, settings, metrics, fractions, strategy, probes, experiment_hash(cfg))


def run_threads(cfg: DictConfig, launcher: Mapping | None, multirun: bool) -> int | None:
    """Torch threads for this run: ``num_threads`` if set; in a multirun, the job's share of the
    cores under a launcher that runs jobs side by side; else None (torch's default, every core:
    a single run has the machine to itself whatever launcher a ``-m`` would use)."""
    launcher = (launcher or {}) if multirun else {}
    return job_threads(cfg.get("num_threads"), launcher.get("_target_"), launcher.get("n_jobs"), available_cores())


def run(
    cfg: DictConfig, run_dir: str | os.PathLike, multirun: bool = False, launcher: Mapping | None = None
) -> list[dict]:
    """Validate, build the cohort, and run the AL experiment into ``run_dir``.

    Args:
        launcher: the Hydra launcher's config (``_target_``, ``n_jobs``): under the parallel launcher
            each job takes its share of the cores, unless ``num_threads`` says otherwise.

    Raises:
        RunLockedError: another process is running ``run_dir``.
    """
    prep = validate(cfg)
    threads = run_threads(cfg, launcher, multirun)
    if threads:
        import torch

        torch.set_num_threads(threads)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with run_folder_lock(run_dir, cfg.paths.lock):
        return _run(cfg, run_dir, multirun, prep)


def _run(cfg: DictConfig, run_dir: Path, multirun: bool, prep: Prepared) -> list[dict]:
    resume = parse_resume(cfg.resume) is not False
    saved = load_state(run_dir) if resume else None
    if not resume and (run_dir / STATE_FILE).exists():
        raise RunExistsError(f"resume: {run_dir} already holds an AL run; pass resume=true to continue it")
    if saved is not None:  # refused here, before anything is generated or written
        check_same_config(saved, prep.config_hash, run_dir)

    cohort = prep.source.cohort(OmegaConf.to_container(cfg.paths, resolve=True))
    dm_cfg = OmegaConf.to_container(cfg.data, resolve=True)
    datamodule: ALDataModule = hydra.utils.get_class(dm_cfg.pop("_target_"))(cohort, **dm_cfg)
    if saved is not None:
        datamodule.check_same_data(saved["data"], run_dir / STATE_FILE)
    # only now, when the folder is ours to write: the report reads the test set from it
    atomic_write_json(
        run_dir / "split.json", {"cohort_dir": str(cohort.root), "cohort": cohort.fingerprint, **datamodule.split}
    )

    complete = saved is not None and bool(saved.get("complete"))
    # which code made the run (a resume by other code is added to it); a finished job of a
    # relaunched sweep runs no code, so it adds nothing
    record = None if complete else record_provenance(run_dir, resumed=saved is not None)
    # a finished job of a relaunched sweep opens no logger run (W&B would show an empty one); a
    # resumed job continues its own W&B run (same id)
    loggers = (
        []
        if complete
        else build_loggers(cfg, run_dir, multirun, saved.get("wandb_id") if saved else None, provenance=record)
    )

    def make_trainer(callbacks):
        return hydra.utils.instantiate(
            cfg.trainer,
            callbacks=[*callbacks, *build_callbacks(cfg)],
            logger=loggers or False,
            default_root_dir=str(run_dir),
        )

    spec = RunSpec(
        datamodule,
        prep.strategy,
        prep.settings,
        int(cfg.seed),
        run_dir,
        prep.metrics,
        prep.probes,
        model_factory=lambda: hydra.utils.instantiate(cfg.model),
    )
    loop = ActiveLearningLoop(spec, make_trainer, prep.fractions, prep.config_hash)
    wandb_id = wandb_run_id(loggers)
    if wandb_id is not None:
        loop.extra_state["wandb_id"] = wandb_id
    try:
        if complete:
            log.info("%s is already complete (round %d); nothing to do", run_dir, saved["round"])
            loop.resume(saved)
            return loop.rows
        return loop.run(saved)
    finally:
        for lg in loggers:
            if type(lg).__name__ == "WandbLogger":
                lg.experiment.finish()
