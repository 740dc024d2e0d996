"""The README's command, through the real Hydra entry point, and config validation."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from fair_seg_al.cohort import CohortSpec
from fair_seg_al.config import ConfigError
from fair_seg_al.data import CohortFolder
from tests.conftest import REPO


def _run(*overrides, cwd):
    return subprocess.run(
        [sys.executable, "-m", "fair_seg_al.generate", *overrides],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )


def test_readme_command_writes_a_valid_cohort(tmp_path):
    out = tmp_path / "cohort"
    res = _run(
        f"out_dir={out}",
        "n_subjects=6",
        "bias=strong",
        "seed=0",
        "cohort.spacing_mm=4.0",
        f"paths.root_dir={tmp_path}",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    folder = CohortFolder.load(out)
    assert len(folder) == 6
    info = json.loads((out / "cohort.json").read_text())
    assert info["config"]["bias"]["name"] == "strong"
    assert info["config"]["n_subjects"] == 6
    assert len(info["content_hash"]) == 64 and info["fair_seg_al_version"]
    assert (out / "cohort.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Hydra kept the composed config of the run
    assert list((tmp_path / "logs" / "generate" / "runs").glob("*/.hydra/config.yaml"))


@pytest.mark.slow  # a CLI process (7 s); the fast suite names bad keys in-process (test_unknown_and_mistyped_keys_are_named)
def test_bad_value_fails_fast_naming_key_and_file(tmp_path):
    res = _run(
        f"out_dir={tmp_path / 'c'}", "bias=weak", "bias.magnitude.sd=-1", f"paths.root_dir={tmp_path}", cwd=tmp_path
    )
    assert res.returncode == 2
    assert "bias.magnitude.sd" in res.stderr and "conf/bias/weak.yaml" in res.stderr
    assert not (tmp_path / "c").exists()


def test_unknown_and_mistyped_keys_are_named():
    cohort = OmegaConf.load(REPO / "conf/cohort/default.yaml")
    bias = OmegaConf.load(REPO / "conf/bias/strong.yaml")
    assert CohortSpec.from_config(cohort, bias).bias.name == "strong"
    with pytest.raises(ConfigError, match=r"bias\.atrophy\.mm_per_unt"):
        CohortSpec.from_config(cohort, OmegaConf.merge(bias, {"atrophy": {"mm_per_unt": 2}}))
    with pytest.raises(ConfigError, match=r"cohort\.spacing_mm"):
        CohortSpec.from_config(OmegaConf.merge(cohort, {"spacing_mm": "two"}), bias)
    with pytest.raises(ConfigError, match=r"cohort\.group_proportions"):
        CohortSpec.from_config(OmegaConf.merge(cohort, {"group_proportions": [0.7, 0.7]}), bias)
    with pytest.raises(ConfigError, match=r"cohort\.biased_group"):
        CohortSpec.from_config(OmegaConf.merge(cohort, {"biased_group": "C"}), bias)


@pytest.mark.parametrize("preset", ["none", "weak", "strong"])
def test_every_bias_preset_and_cohort_config_is_valid(preset):
    bias = OmegaConf.load(REPO / f"conf/bias/{preset}.yaml")
    for cohort_file in ("default", "paper"):
        cohort = OmegaConf.load(REPO / f"conf/cohort/{cohort_file}.yaml")
        cohort.pop("defaults", None)
        spec = CohortSpec.from_config(OmegaConf.merge(OmegaConf.load(REPO / "conf/cohort/default.yaml"), cohort), bias)
        assert spec.bias.name == preset
