"""Threads per job: all cores alone, a 1/n_jobs share under the parallel launcher."""

from __future__ import annotations

import pytest

from fair_seg_al.utils.threads import available_cores, job_threads

JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
BASIC = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"


@pytest.mark.parametrize(
    ("requested", "launcher", "n_jobs", "cores", "expected"),
    [
        (None, BASIC, None, 16, None),  # torch's default: every core
        (None, JOBLIB, -1, 2, 1),  # one job per core, a thread each
        (None, JOBLIB, 4, 16, 4),
        (None, JOBLIB, 3, 16, 5),  # 16 // 3
        (None, JOBLIB, -2, 8, 1),  # joblib's -2: all cores but one = 7 jobs
        (None, JOBLIB, 4, 2, 1),  # more jobs than cores: never 0 threads
        (3, JOBLIB, 4, 16, 3),  # an explicit num_threads wins
        (2, BASIC, None, 16, 2),
    ],
)
def test_job_threads_by_hand(requested, launcher, n_jobs, cores, expected):
    assert job_threads(requested, launcher, n_jobs, cores) == expected


def test_available_cores_is_positive():
    assert available_cores() >= 1


def test_a_single_run_keeps_every_core_and_a_multirun_job_gets_its_share():
    from omegaconf import OmegaConf

    from fair_seg_al.experiment import run_threads

    cfg = OmegaConf.create({"num_threads": None})
    local = {"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": -1}
    cores = available_cores()
    assert run_threads(cfg, local, multirun=False) is None  # the -m default launcher does not apply to one run
    assert run_threads(cfg, local, multirun=True) == 1  # one job per core: one thread each
    assert run_threads(cfg, {**local, "n_jobs": 1}, multirun=True) == cores
    assert run_threads(OmegaConf.create({"num_threads": 3}), local, multirun=False) == 3
