"""Shared fixtures: tiny cohorts that generate in about a second on 2 cores."""

from __future__ import annotations

from pathlib import Path

import pytest

from fair_seg_al.cohort import BiasSpec, CohortSpec, generate_cohort
from fair_seg_al.cohort.spec import AtrophySpec, IntensitySpec, MagnitudeSpec

REPO = Path(__file__).resolve().parents[1]


def make_spec(bias: str = "strong", **overrides) -> CohortSpec:
    """A small cohort spec; ``bias`` picks magnitudes like conf/bias/<bias>.yaml."""
    magnitude = {"none": (0.0, 0.0), "weak": (1.0, 0.3), "strong": (2.0, 0.5)}[bias]
    enabled = bias != "none"
    spec = CohortSpec(
        n_subjects=overrides.pop("n_subjects", 8),
        seed=overrides.pop("seed", 0),
        bias=BiasSpec(
            name=bias,
            magnitude=MagnitudeSpec(*magnitude),
            atrophy=AtrophySpec(enabled=enabled),
            intensity=IntensitySpec(enabled=enabled, change_per_unit=-0.06),
        ),
    )
    for key, value in overrides.items():
        setattr(spec, key, value)
    spec.__post_init__()
    return spec


@pytest.fixture(scope="session")
def tiny_cohort(tmp_path_factory) -> Path:
    """A valid 6-subject cohort at 4 mm (3 per group), generated once per session."""
    out = tmp_path_factory.mktemp("cohorts") / "tiny"
    spec = make_spec("strong", n_subjects=6, spacing_mm=4.0)
    return generate_cohort(spec, out_dir=out, num_workers=1, progress=False)
