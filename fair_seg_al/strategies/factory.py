"""Build the run's strategy and analysis-only estimators from the config, and check what they need.

Strategies are Hydra ``_target_`` configs (``conf/strategy/``, with ``estimator`` and
``composition`` sub-groups); a constructor's error becomes a :class:`ConfigError` that names the
files the strategy was composed from. A strategy declares what it needs of the rest of the run
(e.g. ``needs_dropout``) and :func:`check_needs` checks the declaration against the config.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig, OmegaConf

from fair_seg_al.config import ConfigError, require
from fair_seg_al.estimation import GroupPerformanceEstimator, holdout_owner
from fair_seg_al.strategies.base import Strategy


def _without_names(node):
    """A config container without its ``name`` keys (metadata, not constructor arguments)."""
    if isinstance(node, dict):
        return {k: _without_names(v) for k, v in node.items() if k != "name"}
    return node


def instantiate(node: DictConfig, key: str, where: str):
    """``hydra.utils.instantiate`` of ``node`` without its ``name`` keys; errors name ``key`` and ``where``."""
    try:
        return hydra.utils.instantiate(_without_names(OmegaConf.to_container(node, resolve=True)))
    except Exception as err:  # instantiate wraps constructor errors
        cause = err.__cause__ or err
        raise ConfigError(f"{key}: {cause} (set in {where} or a command-line override)") from None


def build_strategy(cfg: DictConfig) -> Strategy:
    """Instantiate ``cfg.strategy`` with its estimator and composition, if it has them."""
    name = cfg.strategy.get("name")
    files = [f"conf/strategy/{name}.yaml"]
    for sub in ("estimator", "composition"):
        if cfg.strategy.get(sub) is not None:
            files.append(f"conf/strategy/{sub}/{cfg.strategy[sub].get('name')}.yaml")
    strategy = instantiate(cfg.strategy, "strategy", ", ".join(files))
    if strategy.estimator is not None and cfg.strategy.estimator.get("name"):
        # the preset's name goes into the outputs (estimates.csv says kfold_scratch, not kfold)
        strategy.estimator.name = str(cfg.strategy.estimator.name)
    return strategy


def build_probes(cfg: DictConfig) -> dict[str, GroupPerformanceEstimator]:
    """The analysis-only estimators of ``estimation.probes``, by name."""
    probes = OmegaConf.select(cfg, "estimation.probes") or {}
    built = {}
    for k, v in probes.items():
        built[str(k)] = instantiate(v, f"estimation.probes.{k}", f"conf/strategy/estimator/{v.get('name')}.yaml")
        built[str(k)].name = str(v.get("name") or k)  # the preset's name, as for the strategy's estimator
    return built


def check_needs(strategy: Strategy, probes: dict[str, GroupPerformanceEstimator], cfg: DictConfig) -> None:
    """What the strategy declares it needs, against the config; at most one estimator holds images out.

    Raises:
        ConfigError: naming the key to change.
    """

    dropout = OmegaConf.select(cfg, "model.net.dropout", default=0) or 0
    require(
        not strategy.needs_dropout or float(dropout) > 0,
        "model.net.dropout",
        f"strategy {cfg.strategy.name} scores with MC dropout and needs dropout in the network: set "
        f"model.net.dropout=0.1 (for a fair comparison, for every strategy of the sweep), got {dropout}",
        group="model",
    )
    estimators = {"strategy.estimator": strategy.estimator} if strategy.estimator is not None else {}
    estimators.update({f"estimation.probes.{k}": v for k, v in probes.items()})
    try:
        holdout_owner(estimators)
    except ValueError as err:
        raise ConfigError(f"strategy.estimator / estimation.probes: {err}; keep one holdout estimator") from None
