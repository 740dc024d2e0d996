"""Shared fixtures: tiny cohorts that generate in about a second on 2 cores, one cohort cache
for the whole test run, and the experiment run in-process (where the CLI is not what is tested).

Under pytest-xdist (``make test`` runs one worker per core) each worker, and every process a
test starts, gets its share of the cores as torch threads instead of oversubscribing them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fair_seg_al.cohort import BiasSpec, CohortSpec, generate_cohort
from fair_seg_al.cohort.spec import AtrophySpec, IntensitySpec, MagnitudeSpec

REPO = Path(__file__).resolve().parents[1]
CONF = str(REPO / "conf")
#: the tiny end-to-end run (12x16x16 voxels, 40 subjects, 4 steps a round)
SMOKE = ["experiment=smoke", "trainer.max_steps=4"]


def pytest_configure(config):
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers:
        import torch

        from fair_seg_al.utils.threads import available_cores

        threads = max(1, available_cores() // int(workers))
        os.environ["OMP_NUM_THREADS"] = str(threads)  # inherited by the CLI processes tests start
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def cohort_cache(tmp_path_factory) -> Path:
    """One cohort cache for every test of the run (all xdist workers share it: generation is
    locked, so a cohort is written once and the others wait and reuse it)."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared-cohorts"
    shared.mkdir(parents=True, exist_ok=True)
    return shared


@pytest.fixture
def run_experiment(cohort_cache):
    """``run_experiment(run_dir, *overrides)``: compose ``conf/main.yaml`` with the overrides and
    run it in this process (no W&B unless asked), as ``python -m fair_seg_al.main`` would."""
    from hydra import compose, initialize_config_dir

    from fair_seg_al.experiment import run

    def _run(run_dir: Path, *overrides: str) -> list[dict]:
        with initialize_config_dir(config_dir=CONF, version_base="1.3"):
            cfg = compose(
                config_name="main",
                overrides=[
                    "logger=none",
                    f"paths.root_dir={run_dir.parent}",
                    f"paths.cohort_cache_dir={cohort_cache}",
                    *overrides,
                ],
            )
        return run(cfg, run_dir)

    return _run


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
