"""Lightning loggers and extra callbacks, instantiated from the ``logger`` and ``callbacks`` config groups.

As in lightning-hydra-template, each entry of ``logger`` / ``callbacks`` is a ``_target_`` with its
arguments, so adding one needs a YAML file and no code, e.g. ``conf/logger/csv.yaml``::

    csv:
      _target_: pytorch_lightning.loggers.CSVLogger
      save_dir: null        # null: the run folder

What only the run knows is filled in where the target takes it and the YAML leaves it null:
``save_dir`` (the run folder) and, for :func:`wandb_logger`, the run's id, config and provenance.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from fair_seg_al.config import ConfigError, config_source
from fair_seg_al.run_identity import data_label, strategy_label

WANDB_MODES = ("offline", "online", "disabled")


def wandb_logger(
    project: str = "fair_seg_al",
    entity: str | None = None,
    mode: str = "offline",
    group: str | None = None,
    tags: list[str] | None = None,
    save_dir: str | None = None,
    run_id: str | None = None,
    multirun: bool = False,
    experiment_cfg: DictConfig | None = None,
    provenance: dict | None = None,
):
    """Lightning's WandbLogger (offline by default: no network, files in the run folder), grouped
    by sweep and tagged with the run's strategy, data, start and seed; None when ``mode: disabled``.

    A resumed run continues its own W&B run (``run_id``, ``resume="allow"``). The config is the
    experiment's, plus the run's ``provenance`` (:mod:`fair_seg_al.utils.provenance`; found
    now if not given), so W&B can filter runs by the code that made them.
    """
    if mode not in WANDB_MODES:
        raise ValueError(f"mode must be one of {list(WANDB_MODES)}, got {mode!r}")
    if mode == "disabled":
        return None
    os.environ.setdefault("WANDB_SILENT", "true")
    from pytorch_lightning.loggers import WandbLogger

    cfg = experiment_cfg if experiment_cfg is not None else OmegaConf.create({})
    run_tags = [
        f"strategy={strategy_label(cfg.strategy)}" if "strategy" in cfg else None,
        _data_tag(cfg),
        f"init={cfg.init.name}" if "init" in cfg else None,
        f"seed={cfg.seed}" if "seed" in cfg else None,
        *list(tags or []),
    ]
    if OmegaConf.select(cfg, "strategy.estimator.name") == "oracle":
        run_tags.append("control=oracle")  # reads the test set: never a result of the study
    config = OmegaConf.to_container(cfg, resolve=True)
    config.pop("hydra", None)
    if provenance is None:
        from fair_seg_al.utils.provenance import provenance as current_provenance

        provenance = current_provenance()
    config["provenance"] = provenance
    if "strategy" in cfg:  # the labels the run name and the report use: W&B groups runs by them
        config["labels"] = {"strategy": strategy_label(cfg.strategy), "data": data_label(cfg)}
    logger = WandbLogger(
        project=project or "fair_seg_al",
        entity=entity,
        name=cfg.get("run_name"),
        group=str(group or (cfg.get("sweep_name") if multirun else "runs")),
        tags=[t for t in run_tags if t],
        job_type="active_learning",
        save_dir=save_dir,
        mode=mode,
        id=run_id,
        resume="allow" if run_id else None,
        config=config,
        log_model=False,
    )
    logger.experiment.define_metric("al/round")
    logger.experiment.define_metric("al/*", step_metric="al/round")
    return logger


def _data_tag(cfg: DictConfig) -> str | None:
    """The source's tag: ``bias=<preset>`` for the synthetic cohort, ``data=<folder name>`` for a user's."""
    from fair_seg_al.data.source import source_kind

    if "bias" not in cfg and "source" not in cfg:
        return None
    return source_kind(cfg).tag(cfg)


def _entries(node, key: str) -> dict[str, dict]:
    """The entries of a ``logger`` / ``callbacks`` node, each with a ``_target_`` that imports."""
    plain = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node or {})
    where = config_source(key)
    for name, entry in plain.items():
        if not isinstance(entry, Mapping) or "_target_" not in entry:
            raise ConfigError(f"{key}.{name}: needs a _target_ (a logger or callback class) (set in {where})")
        try:
            hydra.utils.get_object(entry["_target_"])
        except Exception as err:
            raise ConfigError(
                f"{key}.{name}._target_: cannot import {entry['_target_']!r}: {err} (set in {where})"
            ) from None
    return plain


def _instantiate(entry: Mapping, key: str, runtime: Mapping):
    """``entry`` with the run-time arguments its target takes and the YAML leaves unset."""
    target = hydra.utils.get_object(entry["_target_"])
    params = inspect.signature(target).parameters
    extra = {k: v for k, v in runtime.items() if k in params and entry.get(k) is None}
    try:  # the run-time objects go straight to the target (instantiate would copy a config out of its root)
        return hydra.utils.instantiate(dict(entry), _partial_=True)(**extra)
    except Exception as err:  # instantiate wraps constructor errors
        raise ConfigError(f"{key}: {err.__cause__ or err} (set in {config_source(key.split('.')[0])})") from None


def check_loggers(cfg: DictConfig) -> None:
    """Check ``logger`` and ``callbacks`` without starting anything (a W&B mode, every target importable)."""
    for name, entry in _entries(cfg.get("logger"), "logger").items():
        if (
            hydra.utils.get_object(entry["_target_"]) is wandb_logger
            and entry.get("mode", "offline") not in WANDB_MODES
        ):
            raise ConfigError(
                f"logger.{name}.mode: must be one of {list(WANDB_MODES)}, got {entry.get('mode')!r} "
                f"(set in {config_source('logger')})"
            )
    for name, entry in _entries(cfg.get("callbacks"), "callbacks").items():
        _instantiate(entry, f"callbacks.{name}", {})  # a callback's arguments are checked by building it once


def build_loggers(
    cfg: DictConfig, run_dir: Path, multirun: bool, run_id: str | None = None, provenance: dict | None = None
) -> list:
    """The run's loggers (a disabled one is left out); ``provenance``: the run folder's record, for W&B's config."""
    runtime = {
        "save_dir": str(run_dir),
        "run_id": run_id,
        "multirun": multirun,
        "experiment_cfg": cfg,
        "provenance": provenance,
    }
    built = [_instantiate(e, f"logger.{n}", runtime) for n, e in _entries(cfg.get("logger"), "logger").items()]
    return [lg for lg in built if lg is not None]


def build_callbacks(cfg: DictConfig) -> list:
    """Fresh instances of the ``callbacks`` group's callbacks (one set per round's Trainer)."""
    return [_instantiate(e, f"callbacks.{n}", {}) for n, e in _entries(cfg.get("callbacks"), "callbacks").items()]


def wandb_run_id(loggers: list) -> str | None:
    """The W&B run id among ``loggers`` (kept in the AL state, so a resumed run continues it)."""
    from pytorch_lightning.loggers import WandbLogger

    for lg in loggers:
        if isinstance(lg, WandbLogger):
            return lg.experiment.id
    return None
