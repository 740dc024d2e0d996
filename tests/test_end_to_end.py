"""The real command, end to end: a tiny multirun and an interrupted-then-resumed run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO

SMOKE = ["experiment=smoke", "trainer.max_steps=4"]


def _main(*overrides, cwd: Path, timeout=600):
    env = {**os.environ, "WANDB_SILENT": "true", "WANDB_MODE": "offline", "FAIR_SEG_AL_ROOT": str(cwd)}
    res = subprocess.run(
        [sys.executable, "-m", "fair_seg_al.main", *overrides],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return res


def test_multirun_writes_outputs_and_offline_wandb_runs(tmp_path):
    _main("-m", "strategy=weighted_entropy,entropy", "bias=strong,weak", *SMOKE, "sweep_name=e2e", cwd=tmp_path)
    sweep = tmp_path / "logs" / "al" / "multiruns" / "e2e"
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert [j.name.split("-", 1)[1] for j in jobs] == [
        "weighted_entropy-strong-imbalanced-seed0",
        "weighted_entropy-weak-imbalanced-seed0",
        "entropy-strong-imbalanced-seed0",
        "entropy-weak-imbalanced-seed0",
    ]
    for job in jobs:
        rounds = pd.read_csv(job / "rounds.csv")
        assert rounds["round"].tolist() == [0, 1, 2]
        assert rounds["n_labeled"].tolist() == [6, 10, 14]  # initial 6 + 4 per round
        assert (rounds["n_labeled_A"] + rounds["n_labeled_B"] == rounds["n_labeled"]).all()
        for col in ("dice", "dice_A", "dice_B", "disparity", "es_dice"):
            assert rounds[col].between(0, 1).all()
        # ES-Dice recomputed from the written group Dice (equal-size test groups)
        overall = rounds["dice"]
        dsum = (rounds["dice_A"] - overall).abs() + (rounds["dice_B"] - overall).abs()
        assert (rounds["es_dice"] - overall / (1 + dsum)).abs().max() < 1e-9
        sel = pd.read_csv(job / "selections.csv")
        assert len(sel) == 14 and sel["subject_id"].is_unique
        assert sel.groupby("round").size().tolist() == [6, 4, 4]
        test_ids = set(pd.read_json(job / "split.json", typ="series")["test"])
        assert not test_ids & set(sel["subject_id"])
        assert (job / ".hydra" / "config.yaml").is_file()
        runs = list((job / "wandb").glob("offline-run-*"))
        assert len(runs) == 1, runs
    # the weighted strategy logged its group weights
    assert "weight_B" in pd.read_csv(jobs[0] / "rounds.csv").columns
    # every job reused one cached cohort per bias
    assert len(list((tmp_path / "data" / "cohorts").glob("default-*"))) == 2


def test_resume_after_interruption_selects_like_an_uninterrupted_run(tmp_path):
    common = [*SMOKE, "al.rounds=3", "strategy=weighted_entropy", "logger=none", "al.reset_weights=false"]
    full = tmp_path / "full"
    _main(*common, f"hydra.run.dir={full}", cwd=tmp_path)

    # interrupted: the process dies right after round 1's state is saved
    part = tmp_path / "part"
    env = {**os.environ, "FAIR_SEG_AL_ROOT": str(tmp_path)}
    code = (
        "import sys, runpy\n"
        "from fair_seg_al.al import callback\n"
        "orig = callback.AcquisitionCallback.on_fit_end\n"
        "def crash(self, trainer, module):\n"
        "    orig(self, trainer, module)\n"
        "    if self.round == 1:\n"
        "        import os; os._exit(17)\n"
        "callback.AcquisitionCallback.on_fit_end = crash\n"
        f"sys.argv = ['main', *{common!r}, 'hydra.run.dir={part}']\n"
        "runpy.run_module('fair_seg_al.main', run_name='__main__')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 17, res.stderr[-2000:]
    assert pd.read_csv(part / "rounds.csv")["round"].tolist() == [0, 1]

    _main(*common, f"resume={part}", cwd=tmp_path)
    a = pd.read_csv(full / "selections.csv")
    b = pd.read_csv(part / "selections.csv")
    assert a["subject_id"].tolist() == b["subject_id"].tolist()
    assert a["round"].tolist() == b["round"].tolist() == [0] * 6 + [1] * 4 + [2] * 4 + [3] * 4
    pd.testing.assert_frame_equal(
        pd.read_csv(full / "rounds.csv").filter(regex="^(round|n_labeled|dice)"),
        pd.read_csv(part / "rounds.csv").filter(regex="^(round|n_labeled|dice)"),
    )


def test_rerun_without_resume_refuses_to_overwrite(tmp_path):
    run = tmp_path / "run"
    _main(*SMOKE, "logger=none", "al.rounds=0", f"hydra.run.dir={run}", cwd=tmp_path)
    env = {**os.environ, "FAIR_SEG_AL_ROOT": str(tmp_path)}
    res = subprocess.run(
        [sys.executable, "-m", "fair_seg_al.main", *SMOKE, "logger=none", "al.rounds=0", f"hydra.run.dir={run}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 2 and "resume=true" in res.stderr


@pytest.mark.slow
def test_default_command_runs_end_to_end(tmp_path):
    """The README's main job (default config, 200 subjects, 5 trained rounds), offline W&B."""
    res = _main(cwd=tmp_path, timeout=900)
    run_dir = Path(res.stdout.strip().splitlines()[-1])
    rounds = pd.read_csv(run_dir / "rounds.csv")
    assert rounds["n_labeled"].tolist() == [10, 20, 30, 40, 50]
    assert rounds["dice"].iloc[-1] > 0.6


def test_a_failing_job_does_not_stop_the_sweep_and_shows_in_the_report(tmp_path):
    res = _main("-m", *SMOKE, "logger=none", "al.budget=4,100", "sweep_name=withfailure", cwd=tmp_path)
    sweep = tmp_path / "logs" / "al" / "multiruns" / "withfailure"
    ok, bad = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name[0].isdigit())
    assert pd.read_csv(ok / "rounds.csv")["round"].tolist() == [0, 1, 2]
    assert "exceeds the unlabeled pool" in (bad / "FAILED").read_text()
    assert "al.budget" in res.stderr
    from fair_seg_al.report import build_report

    text = (build_report([sweep]) / "report.md").read_text()
    assert str(bad) in text and "exceeds the unlabeled pool" in text
