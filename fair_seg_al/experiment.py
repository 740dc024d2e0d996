"""Validate an experiment config, then build and run it. Used by :mod:`fair_seg_al.main`.

Everything that can be checked without training is checked first, so a bad config fails
in seconds with the offending key named, before any cohort is generated or model trained.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from fair_seg_al.al.callback import holdout_owner
from fair_seg_al.al.evaluation import MetricSettings
from fair_seg_al.al.loop import ActiveLearningLoop, ALSettings
from fair_seg_al.al.state import check_same_config, load_state
from fair_seg_al.cohort import CohortSpec, generate_cohort
from fair_seg_al.cohort.generator import assign_groups
from fair_seg_al.config import ConfigError, data_label, experiment_hash, require, strategy_label, to_dataclass
from fair_seg_al.data.attributes import Grouping
from fair_seg_al.data.cohort_folder import CohortFolder
from fair_seg_al.data.datamodule import ALDataModule
from fair_seg_al.data.errors import CohortFormatError, listing
from fair_seg_al.data.layouts import LAYOUTS, load_cohort
from fair_seg_al.data.pool import initial_fractions
from fair_seg_al.data.preprocess import Preprocessing, check_grids
from fair_seg_al.data.splits import per_group_count
from fair_seg_al.estimation import GroupPerformanceEstimator
from fair_seg_al.strategies import MCDropoutStrategy, Strategy
from fair_seg_al.utils.io import atomic_write_json
from fair_seg_al.utils.locks import LOCK_KINDS, LockTimeoutError, folder_lock
from fair_seg_al.utils.quota import quota_split

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

    spec: CohortSpec | None  #: None when the user brings a cohort folder
    cohort: CohortFolder | None
    settings: ALSettings
    fractions: dict[str, float]
    strategy: Strategy
    config_hash: str
    probes: dict[str, GroupPerformanceEstimator]


def _without_names(node):
    """A config container without its ``name`` keys (metadata, not constructor arguments)."""
    if isinstance(node, dict):
        return {k: _without_names(v) for k, v in node.items() if k != "name"}
    return node


def _instantiate(node: DictConfig, key: str, where: str):
    try:
        return hydra.utils.instantiate(_without_names(OmegaConf.to_container(node, resolve=True)))
    except Exception as err:  # instantiate wraps constructor errors
        cause = err.__cause__ or err
        raise ConfigError(f"{key}: {cause} (set in {where} or a command-line override)") from None


def _plain(node) -> dict:
    """A config node as a plain dict ({} for a missing or empty one)."""
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node or {})


def build_strategy(cfg: DictConfig) -> Strategy:
    """Instantiate ``cfg.strategy`` with its estimator and composition, if it has them."""
    name = cfg.strategy.get("name")
    files = [f"conf/strategy/{name}.yaml"]
    for sub in ("estimator", "composition"):
        if cfg.strategy.get(sub) is not None:
            files.append(f"conf/strategy/{sub}/{cfg.strategy[sub].get('name')}.yaml")
    return _instantiate(cfg.strategy, "strategy", ", ".join(files))


def build_probes(cfg: DictConfig) -> dict[str, GroupPerformanceEstimator]:
    """The analysis-only estimators of ``estimation.probes``, by name."""
    probes = OmegaConf.select(cfg, "estimation.probes") or {}
    return {
        str(k): _instantiate(v, f"estimation.probes.{k}", f"conf/strategy/estimator/{v.get('name')}.yaml")
        for k, v in probes.items()
    }


def _group_sizes(cfg: DictConfig, spec: CohortSpec | None, cohort: CohortFolder | None) -> dict[str, int]:
    if cohort is not None:
        return {g: len(cohort.subject_ids(g)) for g in cohort.groups}
    groups = assign_groups(spec)
    return {g: groups.count(g) for g in spec.groups}


def validate(cfg: DictConfig) -> Prepared:
    """Check the whole config before any work.

    Raises:
        ConfigError: naming the key (and file) at fault.
        CohortFormatError: the user's cohort folder is not valid.
    """
    require(
        cfg.paths.lock in LOCK_KINDS,
        "paths.lock",
        f"must be one of {list(LOCK_KINDS)}, got {cfg.paths.lock!r}",
        "paths",
    )
    timeout = cfg.paths.lock_timeout_s
    require(
        timeout is None or (isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout >= 0),
        "paths.lock_timeout_s",
        f"must be a number of seconds >= 0 or null, got {timeout!r}",
        group="paths",
    )
    cohort_dir = cfg.data.get("cohort_dir")
    cohort = None
    if cohort_dir:
        try:
            grouping = Grouping.from_config(_plain(cfg.data.get("groups")))
        except (ValueError, TypeError) as err:
            raise ConfigError(
                f"data.groups: {err} (set in conf/data/default.yaml or a command-line override)"
            ) from None
        label_values = cfg.data.get("label_values")
        require(
            label_values is None
            or (
                OmegaConf.is_list(label_values)
                and all(isinstance(v, int) and not isinstance(v, bool) for v in label_values)
            ),
            "data.label_values",
            f"must be a list of integer label values, e.g. [11], or null; got {label_values!r}",
            group="data",
        )
        layout = str(cfg.data.get("layout", "folder"))
        require(layout in LAYOUTS, "data.layout", f"must be one of {list(LAYOUTS)}, got {layout!r}", group="data")
        options = _plain(cfg.data.get("layout_options"))
        try:
            cohort = load_cohort(
                cohort_dir,
                layout,
                options,
                grouping=grouping,
                label_values=list(label_values) if label_values else None,
                allow_outside=bool(cfg.data.get("allow_outside_paths", False)),
            )
        except TypeError as err:  # an option the layout does not take
            raise ConfigError(f"data.layout_options: {err} (layout {layout})") from None
    spec = None if cohort is not None else CohortSpec.from_config(cfg.cohort, cfg.bias)
    settings = to_dataclass(ALSettings, cfg.al, "al")
    require(settings.initial_size >= 1, "al.initial_size", f"must be >= 1, got {settings.initial_size}")
    require(settings.budget >= 1, "al.budget", f"must be >= 1, got {settings.budget}")
    require(settings.rounds >= 0, "al.rounds", f"must be >= 0, got {settings.rounds}")
    require(isinstance(cfg.seed, int) and cfg.seed >= 0, "seed", f"must be an integer >= 0, got {cfg.seed}")
    to_dataclass(MetricSettings, cfg.metrics, "metrics")
    require(
        isinstance(cfg.trainer.get("max_steps"), int) and cfg.trainer.max_steps >= 1,
        "trainer.max_steps",
        f"must be an integer >= 1 (training steps per AL round), got {cfg.trainer.get('max_steps')!r}",
        group="trainer",
    )
    devices = cfg.trainer.get("devices", 1)
    require(
        devices in (1, "1") or (OmegaConf.is_list(devices) and len(devices) == 1),  # one device, or one named GPU
        "trainer.devices",
        f"must be 1, got {cfg.trainer.get('devices')!r}: with several devices the acquisition callback would run on "
        "every rank; run one job per device instead (e.g. the parallel or SLURM launcher)",
        group="trainer",
    )
    mode = OmegaConf.select(cfg, "logger.wandb.mode")
    require(
        mode in (None, "offline", "online", "disabled"),
        "logger.wandb.mode",
        f"must be offline, online or disabled, got {mode!r}",
        group="logger",
    )

    # group shares of the initial set
    sizes = _group_sizes(cfg, spec, cohort)
    try:
        fractions = initial_fractions(OmegaConf.to_container(cfg.init, resolve=True), sizes)
    except ValueError as err:
        raise ConfigError(
            f"init.{err} (set in conf/init/{cfg.init.get('name')}.yaml or a command-line override)"
        ) from None

    # sizes: test/val per group (a count, or a fraction of the smallest group), the pool, the budget
    try:
        test = per_group_count(cfg.data.test_per_group, sizes, "data.test_per_group")
        val = per_group_count(cfg.data.val_per_group, sizes, "data.val_per_group")
    except ValueError as err:
        raise ConfigError(f"{err} (set in conf/data/default.yaml or a command-line override)") from None
    require(
        test >= 1, "data.test_per_group", f"must give at least one test subject per group, got {test}", group="data"
    )
    pool = {}
    for g, n in sizes.items():
        require(
            n - test - val >= 1,
            "data.test_per_group",
            f"group {g!r} has {n} subjects; test {test} + validation {val} per group leave none for the pool",
            group="data",
        )
        pool[g] = n - test - val
    n_pool = sum(pool.values())
    for g, q in quota_split(settings.initial_size, fractions).items():
        require(
            q <= pool.get(g, 0),
            "al.initial_size",
            f"the initial set needs {q} subjects of group {g!r} ({fractions[g]:.0%} of {settings.initial_size}) "
            f"but the pool has {pool.get(g, 0)}",
        )
    final = settings.initial_size + settings.rounds * settings.budget
    require(
        final <= n_pool,
        "al.budget",
        f"initial_size + rounds x budget = {settings.initial_size} + {settings.rounds} x {settings.budget} = "
        f"{final} exceeds the unlabeled pool of {n_pool} subjects ({sum(sizes.values())} subjects - "
        f"{test + val} per group for test and validation); lower al.rounds or al.budget, or use a larger cohort (cohort.n_subjects)",
    )

    # preprocessing onto one grid (every volume is then padded to a shape the network takes)
    try:
        preprocessing = Preprocessing.from_config(_plain(cfg.data.get("preprocess")))
    except ValueError as err:
        raise ConfigError(f"data.preprocess: {err} (set in conf/data/preprocess/ or a command-line override)") from None
    patch = cfg.data.get("patch_size")
    if patch:
        divisor = int(cfg.data.get("pad_divisor") or 1)
        require(
            len(patch) == 3 and all(int(p) >= 1 and int(p) % divisor == 0 for p in patch),
            "data.patch_size",
            f"must be three sizes divisible by the network's stride product {divisor}, got {list(patch)}",
            group="data",
        )
    if cohort is not None:
        problems = check_grids(cohort.records, preprocessing)
        if problems:
            raise CohortFormatError(
                f"cohort folder {cohort.root}: " + listing("subjects cannot share one grid", problems)
            )
    strategy = build_strategy(cfg)
    dropout = OmegaConf.select(cfg, "model.net.dropout", default=0) or 0
    require(
        not isinstance(strategy, MCDropoutStrategy) or float(dropout) > 0,
        "model.net.dropout",
        f"strategy {cfg.strategy.name} scores with MC dropout and needs dropout in the network: set "
        "model.net.dropout=0.1 (for a fair comparison, for every strategy of the sweep), got "
        f"{dropout}",
        group="model",
    )
    probes = build_probes(cfg)
    estimators = {"strategy.estimator": strategy.estimator} if strategy.estimator is not None else {}
    estimators.update({f"estimation.probes.{k}": v for k, v in probes.items()})
    try:
        holdout_owner(estimators)
    except ValueError as err:
        raise ConfigError(f"strategy.estimator / estimation.probes: {err}; keep one holdout estimator") from None
    return Prepared(spec, cohort, settings, fractions, strategy, experiment_hash(cfg), probes)


def build_wandb_logger(cfg: DictConfig, run_dir: Path, run_id: str | None, multirun: bool):
    """Lightning's WandbLogger (offline by default), grouped and tagged for the dashboard."""
    w = OmegaConf.select(cfg, "logger.wandb")
    if not w or w.get("mode", "offline") == "disabled":
        return None
    os.environ.setdefault("WANDB_SILENT", "true")
    from pytorch_lightning.loggers import WandbLogger

    group = w.get("group") or (cfg.sweep_name if multirun else "runs")
    tags = [
        f"strategy={strategy_label(cfg.strategy)}",
        f"bias={cfg.bias.name}" if not cfg.data.get("cohort_dir") else f"data={data_label(cfg)}",
        f"init={cfg.init.name}",
        f"seed={cfg.seed}",
        *list(w.get("tags") or []),
    ]
    if OmegaConf.select(cfg, "strategy.estimator.name") == "oracle":
        tags.append("control=oracle")  # reads the test set: never a result of the study
    config = OmegaConf.to_container(cfg, resolve=True)
    config.pop("hydra", None)
    logger = WandbLogger(
        project=w.get("project") or "fair_seg_al",
        entity=w.get("entity"),
        name=cfg.run_name,
        group=str(group),
        tags=tags,
        job_type="active_learning",
        save_dir=str(run_dir),
        mode=w.get("mode", "offline"),
        id=run_id,
        resume="allow" if run_id else None,
        config=config,
        log_model=False,
    )
    logger.experiment.define_metric("al/round")
    logger.experiment.define_metric("al/*", step_metric="al/round")
    return logger


def run(cfg: DictConfig, run_dir: str | os.PathLike, multirun: bool = False) -> list[dict]:
    """Validate, generate (or reuse) the cohort, and run the AL experiment into ``run_dir``.

    Raises:
        RunLockedError: another process is running ``run_dir``.
    """
    prep = validate(cfg)
    if cfg.get("num_threads"):  # the Hydra entry point also shares cores out under the parallel launcher
        import torch

        torch.set_num_threads(int(cfg.num_threads))
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with run_folder_lock(run_dir, cfg.paths.lock):
        return _run(cfg, run_dir, multirun, prep)


def _run(cfg: DictConfig, run_dir: Path, multirun: bool, prep: Prepared) -> list[dict]:
    if prep.cohort is None:
        cohort_dir = generate_cohort(
            prep.spec,
            cache_dir=cfg.paths.cohort_cache_dir,
            num_workers="auto",
            lock=cfg.paths.lock,
            lock_timeout_s=cfg.paths.lock_timeout_s,
        )
    else:
        cohort_dir = prep.cohort.root
    # a user's folder was validated above: hand it over instead of reading it all again
    dm_cfg = OmegaConf.to_container(cfg.data, resolve=True)
    datamodule_cls = hydra.utils.get_class(dm_cfg.pop("_target_"))
    dm_cfg["cohort_dir"] = prep.cohort if prep.cohort is not None else str(cohort_dir)
    datamodule: ALDataModule = datamodule_cls(**dm_cfg)

    resume = cfg.resume not in (False, None, "false")
    saved = load_state(run_dir) if resume else None
    if not resume and (run_dir / "al_state.pt").exists():
        raise RunExistsError(f"resume: {run_dir} already holds an AL run; pass resume=true to continue it")
    if saved is not None:
        check_same_config(saved, prep.config_hash, run_dir)
        datamodule.check_same_data(saved["data"], run_dir / "al_state.pt")
    # only now, when the folder is ours to write: the report reads the test set from it
    atomic_write_json(
        run_dir / "split.json",
        {"cohort_dir": str(cohort_dir), "cohort": datamodule.cohort.fingerprint, **datamodule.split},
    )

    complete = saved is not None and bool(saved.get("complete"))
    # a finished job of a relaunched sweep opens no W&B run (it would be an empty one); a resumed
    # job continues its own W&B run (same id, resume="allow")
    logger = None if complete else build_wandb_logger(cfg, run_dir, saved.get("wandb_id") if saved else None, multirun)

    def make_model():
        return hydra.utils.instantiate(cfg.model)

    def make_trainer(callbacks):
        return hydra.utils.instantiate(
            cfg.trainer, callbacks=callbacks, logger=logger if logger else False, default_root_dir=str(run_dir)
        )

    loop = ActiveLearningLoop(
        datamodule,
        prep.strategy,
        make_model,
        make_trainer,
        prep.settings,
        prep.fractions,
        int(cfg.seed),
        run_dir,
        prep.config_hash,
        to_dataclass(MetricSettings, cfg.metrics, "metrics"),
        probes=prep.probes,
    )
    if logger is not None:
        loop.extra_state["wandb_id"] = logger.experiment.id
    try:
        if complete:
            log.info("%s is already complete (round %d); nothing to do", run_dir, saved["round"])
            loop.resume(saved)
            return loop.callback.round_rows
        return loop.run(resume=resume, state=saved)
    finally:
        if logger is not None:
            logger.experiment.finish()
