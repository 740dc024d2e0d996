"""Config validation shared by every entry point: the error, its message, the schema check.

Hydra composes plain ``DictConfig`` trees; each concept of the study validates its part
against a dataclass schema with :func:`to_dataclass` *before* any work starts, so a typo or a
bad value fails in a second with a message that names the key and the file it most likely
came from. This module knows nothing of the study (the ground floor: it imports no other
module of the package); what names a run lives in :mod:`fair_seg_al.run_identity`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

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


def import_user_module(module: str, key: str, group: str | None = None) -> None:
    """Import a user's module named by config key ``key`` (it registers its own sources, layouts or
    metrics); raise :class:`ConfigError` naming the key (and, with ``group``, its file) if it fails."""
    import importlib

    try:
        importlib.import_module(str(module))
    except ImportError as err:
        where = f" (set in {config_source(group)})" if group else ""
        raise ConfigError(
            f"{key}: cannot import {module!r} ({err}); it must be importable from where you run{where}"
        ) from None
