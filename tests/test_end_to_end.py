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
    res = _main("-m", "strategy=weighted_entropy,entropy", "bias=strong,weak", *SMOKE, "sweep_name=e2e", cwd=tmp_path)
    # the two cohorts (one per bias) were generated before the jobs started; every job found its own
    assert "prepare_cohorts: 4 job(s) need 2 synthetic cohort(s)" in res.stdout + res.stderr
    sweep = tmp_path / "logs" / "al" / "multiruns" / "e2e"
    jobs = sorted(p for p in sweep.iterdir() if (p / ".hydra").is_dir())
    # job folders are named by the run and keyed by a hash of its experiment config, not by job number
    assert sorted(j.name.rsplit("-", 1)[0] for j in jobs) == [
        "entropy-strong-imbalanced-seed0",
        "entropy-weak-imbalanced-seed0",
        "weighted_entropy-strong-imbalanced-seed0",
        "weighted_entropy-weak-imbalanced-seed0",
    ]
    assert all(len(j.name.rsplit("-", 1)[1]) == 8 for j in jobs)
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
        assert "Reusing cached cohort" in (job / "main.log").read_text()
    # the weighted strategy logged its group weights
    assert "weight_B" in pd.read_csv(next(j for j in jobs if j.name.startswith("weighted")) / "rounds.csv").columns
    # every job reused one cached cohort per bias
    assert len(list((tmp_path / "data" / "cohorts").glob("default-*"))) == 2


@pytest.mark.parametrize(
    "variant",
    [[], ["strategy/estimator=prequential", "strategy/composition=power"]],
    ids=["paper_form", "prequential_power"],
)
def test_resume_after_interruption_selects_like_an_uninterrupted_run(tmp_path, variant):
    # the interrupted run logs to W&B (offline): its resumed process continues the same W&B run
    common = [*SMOKE, "al.rounds=3", "strategy=weighted_entropy", *variant, "al.reset_weights=false"]
    full = tmp_path / "full"
    _main(*common, "logger=none", f"hydra.run.dir={full}", cwd=tmp_path)
    common = [*common, "logger=wandb"]

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
    # two processes, one W&B run: the same run id in both offline folders (wandb sync appends them)
    ids = {p.name.rsplit("-", 1)[1] for p in (part / "wandb").glob("offline-run-*")}
    assert len(list((part / "wandb").glob("offline-run-*"))) == 2 and len(ids) == 1, ids
    a = pd.read_csv(full / "selections.csv")
    b = pd.read_csv(part / "selections.csv")
    assert a["subject_id"].tolist() == b["subject_id"].tolist()
    assert a["round"].tolist() == b["round"].tolist() == [0] * 6 + [1] * 4 + [2] * 4 + [3] * 4
    pd.testing.assert_frame_equal(
        pd.read_csv(full / "rounds.csv").filter(regex="^(round|n_labeled|dice|est_|weight_)"),
        pd.read_csv(part / "rounds.csv").filter(regex="^(round|n_labeled|dice|est_|weight_)"),
    )
    pd.testing.assert_frame_equal(
        pd.read_csv(full / "estimates.csv").drop(columns="seconds"),
        pd.read_csv(part / "estimates.csv").drop(columns="seconds"),
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
    jobs = [p for p in sweep.iterdir() if (p / ".hydra").is_dir()]
    (bad,) = [p for p in jobs if (p / "FAILED").is_file()]
    (ok,) = [p for p in jobs if p != bad]
    assert pd.read_csv(ok / "rounds.csv")["round"].tolist() == [0, 1, 2]
    assert "exceeds the unlabeled pool" in (bad / "FAILED").read_text()
    assert "al.budget" in res.stderr
    from fair_seg_al.report import build_report

    text = (build_report([sweep]) / "report.md").read_text()
    assert str(bad) in text and "exceeds the unlabeled pool" in text


def test_every_estimator_and_composition_runs_from_the_command_line(tmp_path):
    estimators = ["train", "holdout", "prequential", "kfold", "oracle"]
    compositions = ["topk", "quota", "power", "shortfall"]
    for est in estimators:
        extra = ["strategy.estimator.steps=2"] if est == "kfold" else []
        _main(
            "-m",
            *SMOKE,
            "al.rounds=1",
            "logger=none",
            "strategy=weighted_entropy",
            f"strategy/estimator={est}",
            f"strategy/composition={','.join(compositions)}",
            *extra,
            f"sweep_name=grid-{est}",
            cwd=tmp_path,
        )
        jobs = sorted(
            p for p in (tmp_path / "logs" / "al" / "multiruns" / f"grid-{est}").iterdir() if (p / ".hydra").is_dir()
        )
        assert len(jobs) == len(compositions)
        for job in jobs:
            assert not (job / "FAILED").exists(), (job / "FAILED").read_text()
            est_rows = pd.read_csv(job / "estimates.csv")
            assert set(est_rows["estimator"]) == {est} and set(est_rows["round"]) == {0}
            assert pd.read_csv(job / "selections.csv").groupby("round").size().tolist() == [6, 4]
            rounds = pd.read_csv(job / "rounds.csv")
            assert rounds["oracle_control"].tolist() == [est == "oracle"] * 2
            assert rounds["seconds_estimate"].notna().iloc[0]


def _spy_run(tmp_path, overrides, name):
    """Run main in a subprocess that records every id set a training loader draws from."""
    log = tmp_path / f"{name}-train-ids.txt"
    code = (
        "import sys, runpy\n"
        "from fair_seg_al.data.datamodule import ALDataModule\n"
        "orig = ALDataModule.sampling_loader\n"
        "def spy(self, ids, samples, seed):\n"
        f"    open({str(log)!r}, 'a').write(' '.join(ids) + '\\n')\n"
        "    return orig(self, ids, samples, seed)\n"
        "ALDataModule.sampling_loader = spy\n"
        f"sys.argv = ['main', *{overrides!r}, 'hydra.run.dir={tmp_path / name}']\n"
        "runpy.run_module('fair_seg_al.main', run_name='__main__')\n"
    )
    env = {**os.environ, "FAIR_SEG_AL_ROOT": str(tmp_path)}
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    return tmp_path / name, [set(line.split()) for line in log.read_text().splitlines()]


@pytest.mark.parametrize("reset", ["false", "true"])
def test_held_out_images_never_reach_a_training_batch(tmp_path, reset):
    run, drawn = _spy_run(
        tmp_path,
        [
            *SMOKE,
            "logger=none",
            "al.rounds=3",
            "strategy/estimator=holdout",
            f"al.reset_weights={reset}",
            "+estimation.probes.kfold={_target_: fair_seg_al.estimation.KFoldEstimator, name: kfold, steps: 2}",
        ],
        "holdout",
    )
    sel = pd.read_csv(run / "selections.csv")
    held = set(sel.loc[sel["held_out"], "subject_id"])
    assert held, "the hold-out rule held nothing out"
    # 4 rounds of training plus 3 k-fold fine-tunes in each of the 4 rounds: none drew a held-out image
    assert len(drawn) >= 4 and not any(ids & held for ids in drawn)
    # the held-out flag of an image never changes: it is written once, at labeling
    assert sel["subject_id"].is_unique
    # the hold-out estimate at round r rests on exactly the images held out in rounds <= r
    est = pd.read_csv(run / "estimates.csv")
    for _, r in est[est["estimator"] == "holdout"].iterrows():
        n = ((sel["round"] <= r["round"]) & sel["held_out"] & (sel["group"] == r["group"])).sum()
        assert r["n_images"] == n


def test_oracle_estimates_equal_the_test_dice_and_are_marked(tmp_path):
    run, _ = _spy_run(tmp_path, [*SMOKE, "logger=none", "strategy/estimator=oracle"], "oracle")
    rounds = pd.read_csv(run / "rounds.csv").set_index("round")
    est = pd.read_csv(run / "estimates.csv")
    assert est["oracle_control"].all() and rounds["oracle_control"].all()
    for _, r in est.iterrows():
        assert r["estimate"] == pytest.approx(rounds.loc[r["round"], f"dice_{r['group']}"], abs=1e-12)
        assert r["estimate"] == pytest.approx(r["test_dice"], abs=1e-12)
    # and the per-image test Dice file agrees with the group means
    per_image = pd.read_csv(run / "test_dice.csv").groupby(["round", "group"])["dice"].mean()
    for (rnd, g), v in per_image.items():
        assert v == pytest.approx(rounds.loc[rnd, f"dice_{g}"], abs=1e-9)


def test_relaunching_a_sweep_with_one_more_seed_runs_only_the_new_job(tmp_path):
    common = ["-m", *SMOKE, "al.rounds=0", "resume=true", "sweep_name=grow"]  # W&B offline (the default)
    _main(*common, "seed=0", cwd=tmp_path)
    sweep = tmp_path / "logs" / "al" / "multiruns" / "grow"
    (first,) = [p for p in sweep.iterdir() if (p / ".hydra").is_dir()]
    before = (first / "rounds.csv").stat().st_mtime_ns, (first / "al_state.pt").stat().st_mtime_ns
    res = _main(*common, "seed=0,1", cwd=tmp_path)
    jobs = sorted(p for p in sweep.iterdir() if (p / ".hydra").is_dir())
    assert [j.name.rsplit("-", 1)[0] for j in jobs] == [
        "weighted_entropy-strong-imbalanced-seed0",
        "weighted_entropy-strong-imbalanced-seed1",
    ]
    assert first in jobs  # the same folder, not a second copy under a new job number
    assert ((first / "rounds.csv").stat().st_mtime_ns, (first / "al_state.pt").stat().st_mtime_ns) == before
    assert "already complete" in res.stdout + res.stderr
    # one offline W&B run per job: the finished job opened no second, empty one
    assert [len(list(j.glob("wandb/offline-run-*"))) for j in jobs] == [1, 1]
