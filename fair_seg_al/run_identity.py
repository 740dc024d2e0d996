"""A run's identity: its labels, its experiment hash, and the config resolvers built on them.

Run names, W&B tags, sweep job folders and the report's cells all name a run the same way:
the strategy label (:func:`strategy_label`), the data label (the cohort source's own, see
:func:`fair_seg_al.data.source.source_kind`) and the experiment hash (:func:`experiment_hash`,
everything that changes results). The ``fsa_*`` resolvers the configs in ``conf/`` use are
registered when this module is imported (:func:`register_resolvers`); every entry point that
composes a config imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from fair_seg_al.utils.io import stable_hash


def strategy_label(strategy: Mapping) -> str:
    """A strategy config's short label: its name, plus its estimator and composition where
    they differ from the paper's (``train``, ``topk``), e.g. ``weighted_entropy.holdout.quota``.

    Used in run names and in the report, so variants that share a name stay apart.
    """
    parts = [str(strategy["name"])]
    est, comp = strategy.get("estimator"), strategy.get("composition")
    if est is not None and est.get("name") != "train":
        parts.append(str(est.get("name")))
    if comp is not None and comp.get("name") != "topk":
        reference = comp.get("reference")  # a matched composition: whose counts it copies
        parts.append(str(comp.get("name")) + (f"_{Path(str(reference)).name}" if reference else ""))
    return ".".join(parts)


def _product(values) -> int:
    """``${fsa_prod:${model.net.strides}}``: the product of a list (1 for an empty one)."""
    out = 1
    for v in values or []:
        out *= int(v)
    return out


def local_jobs() -> int:
    """``${fsa_local_jobs:}``: jobs side by side for the local launcher: -1 (joblib: one per core)
    on a machine without a CUDA GPU, 1 (one after another) where one is visible."""
    import torch

    return 1 if torch.cuda.is_available() else -1


def data_label(cfg: Mapping) -> str:
    """What the data is called in run names, tags and the report's cells, as its source names
    it: the bias preset for the synthetic cohort, the folder's name for a user's cohort."""
    from fair_seg_al.data.source import source_kind

    return source_kind(cfg).label(cfg)


def _data_label(*, _root_: DictConfig) -> str:
    """``${fsa_data_label:}``; a source error is left to the config check, which names it, so the
    resolver (run folder names) falls back to the source's name."""
    from fair_seg_al.config import ConfigError
    from fair_seg_al.data.source import source_name

    try:
        return data_label(_root_)
    except ConfigError:
        return source_name(_root_)


#: Keys that do not change what an experiment computes (excluded from its hash).
NON_EXPERIMENT_KEYS = (
    "resume", "run_name", "sweep_name", "paths", "logger", "hydra", "task_name", "num_threads",
)  # fmt: skip
NON_EXPERIMENT_TRAINER_KEYS = ("accelerator", "devices", "enable_progress_bar", "log_every_n_steps")
#: ``metrics.names`` of every run before the metric table was a config key (left out of the hash)
DEFAULT_METRICS = ("dice", "nsd", "hd95")


def experiment_hash(cfg: DictConfig) -> str:
    """Hash of everything that changes results (not paths, logging, device or resume).

    Used to refuse resuming another experiment's state, and by the report to refuse
    pooling two runs of the same experiment.
    """
    from fair_seg_al.data.source import source_kind

    c = OmegaConf.to_container(cfg, resolve=False)
    for key in NON_EXPERIMENT_KEYS:
        c.pop(key, None)
    if not c.get("callbacks"):  # no extra callbacks: the same experiment as before the group existed
        c.pop("callbacks", None)
    if (c.get("data") or {}).get("hold_out", 0) is None:  # likewise no held-out units
        c["data"].pop("hold_out")
    metrics = c.get("metrics") or {}
    if metrics.get("names") == list(DEFAULT_METRICS):  # likewise the metrics before the table was config
        metrics.pop("names")
    if "module" in metrics and metrics["module"] is None:
        metrics.pop("module")
    for key in source_kind(c).hash_exclusions:  # e.g. a user's cohort: no generator settings
        c.pop(key, None)
    for key in NON_EXPERIMENT_TRAINER_KEYS:
        (c.get("trainer") or {}).pop(key, None)
    return stable_hash(c)


def _experiment_key(*, _root_: DictConfig) -> str:
    """Short experiment hash of the config being composed (a resolver for sweep job folders); a
    source error is left to the config check, which names it (the whole config is hashed then)."""
    from fair_seg_al.config import ConfigError

    try:
        return experiment_hash(_root_)[:8]
    except ConfigError:
        return stable_hash(OmegaConf.to_container(_root_, resolve=False))[:8]


#: The ``${fsa_*:}`` resolvers of ``conf/`` (``fsa_run_dir`` belongs to ``main``'s run folders).
RESOLVERS = {
    "fsa_strategy_label": strategy_label,
    "fsa_data_label": _data_label,
    "fsa_experiment_key": _experiment_key,
    "fsa_prod": _product,
    "fsa_local_jobs": local_jobs,
}


def register_resolvers() -> None:
    """Register the ``fsa_*`` resolvers with OmegaConf (once; needed before a config is composed)."""
    for name, fn in RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


register_resolvers()
