"""A real one-node SLURM cluster runs a tiny sweep through hydra/launcher=slurm (slow).

.ci/run starts the cluster with sweeps/slurm/start_local_cluster.sh before the slow tests;
run that script yourself (as root) to try it locally. The script is idempotent, so the
test calls it too and fails, with the script's output, if no cluster comes up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pandas as pd
import pytest

from tests.conftest import REPO


def start_cluster() -> None:
    """Start (or find running) the one-node cluster; fail with the script's output if it does not come up."""
    start = subprocess.run(
        ["bash", str(REPO / "sweeps/slurm/start_local_cluster.sh")], capture_output=True, text=True, timeout=900
    )
    assert start.returncode == 0, start.stdout[-2000:] + start.stderr[-2000:]
    state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout.split()
    assert state and state[0] in ("idle", "mixed", "allocated"), state  # up (possibly still busy)


def slurm_sweep(*overrides: str, cpus: int) -> list[str]:
    """The command of a sweep_tiny multirun through hydra/launcher=slurm on the local node."""
    return [
        sys.executable,
        "-m",
        "fair_seg_al.main",
        "-m",
        "experiment=sweep_tiny",
        *overrides,
        "hydra/launcher=slurm",
        "hydra.launcher.gpus_per_node=null",
        f"hydra.launcher.cpus_per_task={cpus}",
        "hydra.launcher.mem_gb=4",
        "hydra.launcher.timeout_min=20",
    ]


@pytest.mark.slow
def test_tiny_sweep_on_a_real_slurm_cluster(tmp_path):
    start_cluster()
    env = {**os.environ, "FAIR_SEG_AL_ROOT": str(tmp_path), "WANDB_SILENT": "true"}
    res = subprocess.run(
        slurm_sweep(cpus=1),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]

    sweep = tmp_path / "logs" / "al" / "multiruns" / "sweep_tiny"
    jobs = sorted(p for p in sweep.iterdir() if (p / ".hydra").is_dir())
    assert len(jobs) == 4  # random, weighted_entropy x seeds 0, 1
    for job in jobs:
        assert not (job / "FAILED").exists(), (job / "FAILED").read_text()
        rounds = pd.read_csv(job / "rounds.csv")
        assert rounds["round"].tolist() == [0, 1, 2]
        assert len(pd.read_csv(job / "selections.csv")) == 14
        assert list((job / "wandb").glob("offline-run-*"))
    # submitit ran them as SLURM jobs: one log folder per array task
    logs = list((sweep / ".submitit").rglob("*_log.out"))
    assert len(logs) >= 4, logs


@pytest.mark.slow
def test_preempted_job_is_requeued_and_resumes(tmp_path):
    """`scontrol requeue` (what pre-emption does) mid-run: the job restarts and continues."""
    start_cluster()
    env = {**os.environ, "FAIR_SEG_AL_ROOT": str(tmp_path), "WANDB_SILENT": "true"}
    proc = subprocess.Popen(
        slurm_sweep(
            "strategy=weighted_entropy", "seed=0", "al.rounds=3", "trainer.max_steps=600", "logger=none", cpus=2
        ),
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sweep = tmp_path / "logs" / "al" / "multiruns" / "sweep_tiny"
    deadline = time.time() + 600
    state = None
    while time.time() < deadline and proc.poll() is None:
        found = list(sweep.glob("*/al_state.pt"))
        if found:
            state = found[0]
            break
        time.sleep(0.2)
    assert state is not None, "the job never finished round 0"
    jobs = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout.split()
    assert len(jobs) == 1, jobs
    subprocess.run(["scontrol", "requeue", jobs[0]], check=True)
    # SLURM holds a requeued job for about 2 minutes (BeginTime); let it start at once
    for _ in range(50):
        time.sleep(0.2)
        if (
            subprocess.run(["scontrol", "update", f"jobid={jobs[0]}", "starttime=now"], capture_output=True).returncode
            == 0
        ):
            break
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-3000:]
    job_dir = state.parent
    log = (job_dir / "main.log").read_text()
    assert "Resuming" in log, log[-2000:]
    rounds = pd.read_csv(job_dir / "rounds.csv")
    assert rounds["round"].tolist() == [0, 1, 2, 3]
    assert rounds["n_labeled"].tolist() == [6, 10, 14, 18]
    assert pd.read_csv(job_dir / "selections.csv")["subject_id"].is_unique


@pytest.mark.slow
def test_a_failed_job_fails_in_slurm_and_the_others_complete(tmp_path):
    """One job of two has a bad config: its array task exits non-zero (SLURM: FAILED), the
    other completes, the launching command exits non-zero, the report lists the failure."""
    start_cluster()
    env = {**os.environ, "FAIR_SEG_AL_ROOT": str(tmp_path), "WANDB_SILENT": "true"}
    res = subprocess.run(
        # al.initial_size=1000 is larger than the pool: that job's config is refused before training
        slurm_sweep("strategy=random", "seed=0", "al.initial_size=6,1000", "logger=none", cpus=1),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert res.returncode != 0
    assert "al.initial_size" in res.stdout + res.stderr
    sweep = tmp_path / "logs" / "al" / "multiruns" / "sweep_tiny"
    # the launcher stops waiting at the first failed result; let the other task finish
    deadline = time.time() + 900
    while time.time() < deadline and subprocess.run(["squeue", "-h"], capture_output=True, text=True).stdout.strip():
        time.sleep(1)
    jobs = sorted(p for p in sweep.iterdir() if (p / ".hydra").is_dir())
    failed = [j for j in jobs if (j / "FAILED").exists()]
    done = [j for j in jobs if (j / "rounds.csv").exists()]
    assert len(jobs) == 2 and len(failed) == 1 and len(done) == 1, [j.name for j in jobs]
    assert "al.initial_size" in (failed[0] / "FAILED").read_text()
    # SLURM's own record of each array task: the failed one exited non-zero
    states = {}
    for log in (sweep / ".submitit").rglob("*_log.out"):
        job_id = log.name.removesuffix("_log.out")  # <array job>_<task>
        info = subprocess.run(["scontrol", "-o", "show", "job", job_id], capture_output=True, text=True).stdout
        for line in info.splitlines():
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            states[fields.get("JobId")] = (fields.get("JobState"), fields.get("ExitCode"))
    assert sorted(s for s, _ in states.values()) == ["COMPLETED", "FAILED"], states
    assert sorted(code for _, code in states.values()) == ["0:0", "1:0"], states
    subprocess.run([sys.executable, "-m", "fair_seg_al.analysis.report", str(sweep)], cwd=REPO, env=env, check=True)
    listed = (sweep / "report" / "report.md").read_text().split("## Failed or incomplete runs")[1]
    assert failed[0].name in listed and "al.initial_size" in listed
