"""Config validation shared by every entry point.

Hydra composes plain ``DictConfig`` trees; each concept of the study validates its part
against a dataclass schema here *before* any work starts, so a typo or a bad value fails
in a second with a message that names the key and the file it most likely came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from fair_seg_al.utils.io import stable_hash

#: The packaged configs: ``fair_seg_al/conf`` links to the top-level ``conf/`` in a checkout and
#: is a copy in an installed wheel. An absolute path, so Hydra reads it as a folder either way
#: (a user's own folder joins with ``--config-dir`` or ``hydra.searchpath``).
CONF_DIR = str(Path(__file__).resolve().parent / "conf")

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value is missing, unknown or out of range."""


def config_source(group: str | None) -> str:
    """Where a key of config group ``group`` was most likely set, for error messages.

    Inside a Hydra app this is ``conf/<group>/<choice>.yaml`` (or the command line);
    outside Hydra (Python API, tests) it is just "the config".
    """
    try:
        from hydra.core.hydra_config import HydraConfig

        hc = HydraConfig.get()
    except (ImportError, ValueError):
        return "the config"
    choice = hc.runtime.choices.get(group) if group else None
    where = f"conf/{group}/{choice}.yaml" if choice else f"conf/{hc.job.config_name}.yaml"
    experiment = hc.runtime.choices.get("experiment")
    if experiment and experiment != "null":
        where += f", conf/experiment/{experiment}.yaml"
    return f"{where} or a command-line override"


def require(condition: bool, key: str, message: str, group: str | None = None) -> None:
    """Raise :class:`ConfigError` naming ``key`` (and its likely file) unless ``condition``."""
    if not condition:
        raise ConfigError(f"{key}: {message} (set in {config_source(group)})")


def to_dataclass(schema: type[T], cfg: Any, key: str, group: str | None = None) -> T:
    """Merge ``cfg`` onto the dataclass ``schema`` and return the dataclass instance.

    Unknown keys, missing values and wrong types become a :class:`ConfigError` that
    names the full key, e.g. ``bias.atrophy.mm_per_unt``.

    Raises:
        ConfigError: if ``cfg`` does not fit ``schema``.
    """
    if cfg is None:
        cfg = {}
    if not isinstance(cfg, DictConfig):
        cfg = OmegaConf.create(cfg)
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), cfg)
        obj = OmegaConf.to_object(merged)
    except OmegaConfBaseException as err:
        sub = getattr(err, "full_key", "") or ""
        full = f"{key}.{sub}" if sub else key
        msg = getattr(err, "msg", str(err)).splitlines()[0]
        raise ConfigError(f"{full}: {msg} (set in {config_source(group)})") from None
    except ConfigError as err:  # raised by a schema's __post_init__
        raise ConfigError(f"{key}.{err} (set in {config_source(group)})") from None
    return obj  # type: ignore[return-value]


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


if not OmegaConf.has_resolver("fsa_strategy_label"):
    OmegaConf.register_new_resolver("fsa_strategy_label", strategy_label)


def _product(values) -> int:
    """``${fsa_prod:${model.net.strides}}``: the product of a list (1 for an empty one)."""
    out = 1
    for v in values or []:
        out *= int(v)
    return out


if not OmegaConf.has_resolver("fsa_prod"):
    OmegaConf.register_new_resolver("fsa_prod", _product)


def local_jobs() -> int:
    """``${fsa_local_jobs:}``: jobs side by side for the local launcher: -1 (joblib: one per core)
    on a machine without a CUDA GPU, 1 (one after another) where one is visible."""
    import torch

    return 1 if torch.cuda.is_available() else -1


if not OmegaConf.has_resolver("fsa_local_jobs"):
    OmegaConf.register_new_resolver("fsa_local_jobs", local_jobs)


def data_label(cfg: Mapping) -> str:
    """What the data is called in run names, tags and the report's cells: the bias preset for
    the synthetic cohort, the folder's name for a user's cohort (where ``bias`` means nothing)."""
    from fair_seg_al.data.source import folder_label, user_cohort_dir

    folder = user_cohort_dir(cfg)
    if folder:
        return folder_label(folder)
    return str((cfg.get("bias") or {}).get("name"))


def _data_label(*, _root_: DictConfig) -> str:
    return data_label(_root_)


if not OmegaConf.has_resolver("fsa_data_label"):
    OmegaConf.register_new_resolver("fsa_data_label", _data_label)


#: Keys that do not change what an experiment computes (excluded from its hash).
NON_EXPERIMENT_KEYS = (
    "resume", "run_name", "sweep_name", "paths", "logger", "hydra", "task_name", "num_threads",
)  # fmt: skip
NON_EXPERIMENT_TRAINER_KEYS = ("accelerator", "devices", "enable_progress_bar", "log_every_n_steps")


def experiment_hash(cfg: DictConfig) -> str:
    """Hash of everything that changes results (not paths, logging, device or resume).

    Used to refuse resuming another experiment's state, and by the report to refuse
    pooling two runs of the same experiment.
    """
    from fair_seg_al.data.source import user_cohort_dir

    c = OmegaConf.to_container(cfg, resolve=False)
    for key in NON_EXPERIMENT_KEYS:
        c.pop(key, None)
    if not c.get("callbacks"):  # no extra callbacks: the same experiment as before the group existed
        c.pop("callbacks", None)
    if (c.get("data") or {}).get("hold_out", 0) is None:  # likewise no held-out units
        c["data"].pop("hold_out")
    if user_cohort_dir(c):  # a user's cohort: the synthetic generator's settings play no part
        c.pop("cohort", None)
        c.pop("bias", None)
    for key in NON_EXPERIMENT_TRAINER_KEYS:
        (c.get("trainer") or {}).pop(key, None)
    return stable_hash(c)


def _experiment_key(*, _root_: DictConfig) -> str:
    """Short experiment hash of the config being composed (a resolver for sweep job folders)."""
    return experiment_hash(_root_)[:8]


if not OmegaConf.has_resolver("fsa_experiment_key"):
    OmegaConf.register_new_resolver("fsa_experiment_key", _experiment_key)
