"""Experiment configs: every preset composes; bad configs fail before any training."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from fair_seg_al.config import ConfigError
from fair_seg_al.experiment import experiment_hash, validate
from fair_seg_al.main import _run_dir  # noqa: F401  (registers the run-dir resolver)
from tests.conftest import REPO

CONF = str(REPO / "conf")


def cfg_with(*overrides):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose(config_name="main", overrides=["logger=none", *overrides])


@pytest.mark.parametrize("strategy", ["random", "stratified_random", "entropy", "masked_entropy", "weighted_entropy"])
@pytest.mark.parametrize("init", ["balanced", "imbalanced"])
def test_every_strategy_and_init_validates(strategy, init):
    prep = validate(cfg_with(f"strategy={strategy}", f"init={init}"))
    assert prep.strategy.name == strategy
    assert prep.settings.rounds == 4


def test_experiment_presets_validate():
    assert validate(cfg_with("experiment=smoke")).spec.spacing_mm == 4.0


def _fails(match, *overrides):
    with pytest.raises(ConfigError, match=match):
        validate(cfg_with(*overrides))


def test_budget_larger_than_pool_is_rejected():
    _fails(r"al\.budget: .*= 410 exceeds the unlabeled pool of 150", "al.budget=100")


def test_initial_quota_larger_than_group_is_rejected():
    _fails(
        r"al\.initial_size: the initial set needs 6 subjects of group 'B'",
        "experiment=smoke",
        "init=balanced",
        "al.initial_size=12",
        "cohort.group_proportions=[0.8,0.2]",
        "data.test_per_group=2",
        "data.val_per_group=1",
        "al.rounds=0",
    )


def test_unknown_group_in_init_is_rejected():
    _fails(r"init\.fractions: names groups \[.C.\]", "+init.fractions.C=0.5")


def test_network_that_does_not_fit_the_volume_is_rejected():
    _fails(
        r"model\.net\.strides: the volume \(12, 16, 16\)",
        "experiment=smoke",
        "model.net.strides=[2,2,2]",
        "model.net.channels=[8,16,32,64]",
    )


def test_bad_strategy_parameter_is_rejected():
    _fails(r"strategy: weight_form must be one of", "strategy=weighted_entropy", "strategy.weight_form=cubic")


def test_bad_values_name_their_key():
    _fails(r"al\.rounds: must be >= 0", "al.rounds=-1")
    _fails(r"logger\.wandb\.mode: must be offline, online or disabled", "logger=wandb", "logger.wandb.mode=sometimes")
    _fails(r"cohort\.spacing_mm", "cohort.spacing_mm=0")


def test_hash_ignores_logging_and_device_but_not_the_experiment():
    base = experiment_hash(cfg_with())
    assert experiment_hash(cfg_with("trainer.accelerator=cpu", "logger=wandb", "resume=true")) == base
    assert experiment_hash(cfg_with("seed=1")) != base
    assert experiment_hash(cfg_with("strategy=entropy")) != base


def test_cli_rejects_bad_config_before_training(tmp_path: Path):
    res = subprocess.run(
        [sys.executable, "-m", "fair_seg_al.main", "al.budget=1000", "logger=none", f"paths.root_dir={tmp_path}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2
    assert "al.budget" in res.stderr and "exceeds the unlabeled pool" in res.stderr
    assert not (tmp_path / "data").exists()  # no cohort generated
