"""Paper-scale generation (1 mm): slow, run by .ci/run after the fast suite."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from fair_seg_al.cohort import CohortSpec, generate_cohort
from fair_seg_al.data import CohortFolder
from tests.conftest import REPO


@pytest.mark.slow
def test_paper_preset_generates_a_valid_1mm_cohort(tmp_path):
    cfg = OmegaConf.merge(
        OmegaConf.load(REPO / "conf/cohort/default.yaml"), OmegaConf.load(REPO / "conf/cohort/paper.yaml")
    )
    cfg.pop("defaults")
    cfg.n_subjects = 6
    spec = CohortSpec.from_config(cfg, OmegaConf.load(REPO / "conf/bias/strong.yaml"))
    assert spec.shape == (64, 96, 80)
    folder = CohortFolder.load(generate_cohort(spec, out_dir=tmp_path / "paper", progress=False))
    vols = {
        g: np.mean([float(folder.record(s).extra["caudate_volume_mm3"]) for s in folder.subject_ids(g)])
        for g in folder.groups
    }
    assert 2500 < vols["A"] < 7000
    assert vols["B"] < vols["A"]
