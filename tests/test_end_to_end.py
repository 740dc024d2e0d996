"""The real command, end to end: a tiny multirun and an interrupted-then-resumed run.

The CLI runs as a process where the command itself is under test (multiruns, exit codes, a
killed process); elsewhere the experiment runs in-process (``run_experiment``). Every test but
the one that counts cohorts reads one shared cohort cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO, SMOKE


def _main(*overrides, cwd: Path, cache: Path | None = None, timeout=600, code: str | None = None, returncode=0):
    """``python -m fair_seg_al.main OVERRIDES`` (or ``python -c CODE``) in a process; ``cache``: the
    shared cohort cache (None: the cohort goes under ``cwd``)."""
    env = {**os.environ, "WANDB_SILENT": "true", "WANDB_MODE": "offline", "FAIR_SEG_AL_ROOT": str(cwd)}
    overrides = (*overrides, f"paths.cohort_cache_dir={cache}") if cache is not None else overrides
    argv = ["-c", code.replace("ARGV", repr(list(overrides)))] if code else ["-m", "fair_seg_al.main", *overrides]
    res = subprocess.run([sys.executable, *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == returncode, res.stderr[-3000:]
    return res


def test_multirun_writes_outputs_and_offline_wandb_runs(tmp_path):
    res = _main(
        "-m", "strategy=weighted_entropy", "bias=strong,weak", *SMOKE, "al.rounds=1", "sweep_name=e2e", cwd=tmp_path
    )
    # the two cohorts (one per bias) were generated before the jobs started; every job found its own
    assert "prepare_cohorts: 2 job(s) need 2 cohort(s) prepared" in res.stdout + res.stderr
    sweep = tmp_path / "logs" / "al" / "multiruns" / "e2e"
    jobs = sorted(p for p in sweep.iterdir() if (p / ".hydra").is_dir())
    # job folders are named by the run and keyed by a hash of its experiment config, not by job number
    assert sorted(j.name.rsplit("-", 1)[0] for j in jobs) == [
        "weighted_entropy-strong-imbalanced-seed0",
        "weighted_entropy-weak-imbalanced-seed0",
    ]
    assert all(len(j.name.rsplit("-", 1)[1]) == 8 for j in jobs)
    for job in jobs:
        rounds = pd.read_csv(job / "rounds.csv")
        assert rounds["round"].tolist() == [0, 1]
        assert rounds["n_labeled"].tolist() == [6, 10]  # initial 6 + 4 per round
        assert (rounds["n_labeled_A"] + rounds["n_labeled_B"] == rounds["n_labeled"]).all()
        for col in ("dice", "dice_A", "dice_B", "dice_disparity", "es_dice"):
            assert rounds[col].between(0, 1).all()
        # ES-Dice recomputed from the written group Dice (equal-size test groups)
        overall = rounds["dice"]
        dsum = (rounds["dice_A"] - overall).abs() + (rounds["dice_B"] - overall).abs()
        assert (rounds["es_dice"] - overall / (1 + dsum)).abs().max() < 1e-9
        sel = pd.read_csv(job / "selections.csv")
        assert len(sel) == 10 and sel["subject_id"].is_unique
        assert sel.groupby("round").size().tolist() == [6, 4]
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


class Interrupted(Exception):
    pass


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param([], marks=pytest.mark.slow, id="paper_form_killed_process"),  # two CLI processes
        pytest.param(
            ["strategy/estimator=prequential", "strategy/composition=power"], id="prequential_power_in_process"
        ),
    ],
)
def test_resume_after_interruption_selects_like_an_uninterrupted_run(
    tmp_path, variant, cohort_cache, run_experiment, monkeypatch
):
    common = [*SMOKE, "al.rounds=3", "strategy=weighted_entropy", *variant, "al.reset_weights=false"]
    full = tmp_path / "full"
    run_experiment(full, *common)
    part = tmp_path / "part"
    if not variant:
        # a killed CLI process that logs to W&B (offline): the process dies right after the AL
        # state of round 1 is saved; its resumed process continues the same W&B run
        common = [*common, "logger=wandb"]
        crash = (
            "import sys, runpy\n"
            "from fair_seg_al.al import loop\n"
            "orig = loop.ActiveLearningLoop._save\n"
            "def crash(self, completed_round):\n"
            "    orig(self, completed_round)\n"
            "    if completed_round == 1:\n"
            "        import os; os._exit(17)\n"
            "loop.ActiveLearningLoop._save = crash\n"
            "sys.argv = ['main', *ARGV]\n"
            "runpy.run_module('fair_seg_al.main', run_name='__main__')\n"
        )
        _main(*common, f"hydra.run.dir={part}", cwd=tmp_path, cache=cohort_cache, code=crash, returncode=17)
        assert pd.read_csv(part / "rounds.csv")["round"].tolist() == [0, 1]
        _main(*common, f"resume={part}", cwd=tmp_path, cache=cohort_cache)
        # two processes, one W&B run: the same run id in both offline folders (wandb sync appends them)
        ids = {p.name.rsplit("-", 1)[1] for p in (part / "wandb").glob("offline-run-*")}
        assert len(list((part / "wandb").glob("offline-run-*"))) == 2 and len(ids) == 1, ids
    else:
        # the same interruption in-process (the selection generator and the estimator's state
        # must come back from al_state.pt, not from memory: the loop is built anew)
        from fair_seg_al.al import loop

        orig = loop.ActiveLearningLoop._save

        def crash(self, completed_round):
            orig(self, completed_round)
            if completed_round == 1:
                raise Interrupted

        with monkeypatch.context() as m:
            m.setattr(loop.ActiveLearningLoop, "_save", crash)
            with pytest.raises(Interrupted):
                run_experiment(part, *common)
        assert pd.read_csv(part / "rounds.csv")["round"].tolist() == [0, 1]
        run_experiment(part, *common, f"resume={part}")
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


def test_rerun_without_resume_refuses_to_overwrite(tmp_path, cohort_cache, run_experiment):
    run = tmp_path / "run"
    run_experiment(run, *SMOKE, "al.rounds=0")
    res = _main(
        *SMOKE, "logger=none", "al.rounds=0", f"hydra.run.dir={run}", cwd=tmp_path, cache=cohort_cache, returncode=2
    )
    assert "resume=true" in res.stderr


@pytest.mark.slow
def test_default_command_runs_end_to_end(tmp_path):
    """The README's main job (default config, 200 subjects, 5 trained rounds), offline W&B."""
    res = _main(cwd=tmp_path, timeout=900)
    run_dir = Path(res.stdout.strip().splitlines()[-1])
    rounds = pd.read_csv(run_dir / "rounds.csv")
    assert rounds["n_labeled"].tolist() == [10, 20, 30, 40, 50]
    assert rounds["dice"].iloc[-1] > 0.6


@pytest.mark.slow  # a CLI multirun of its own (~40 s); the fast suite keeps one
def test_a_failing_job_does_not_stop_the_sweep_and_shows_in_the_report(tmp_path, cohort_cache):
    res = _main(
        "-m", *SMOKE, "logger=none", "al.budget=4,100", "sweep_name=withfailure", cwd=tmp_path, cache=cohort_cache
    )
    sweep = tmp_path / "logs" / "al" / "multiruns" / "withfailure"
    jobs = [p for p in sweep.iterdir() if (p / ".hydra").is_dir()]
    (bad,) = [p for p in jobs if (p / "FAILED").is_file()]
    (ok,) = [p for p in jobs if p != bad]
    assert pd.read_csv(ok / "rounds.csv")["round"].tolist() == [0, 1, 2]
    assert "exceeds the unlabeled pool" in (bad / "FAILED").read_text()
    assert "al.budget" in res.stderr
    from fair_seg_al.analysis.report import build_report

    text = (build_report([sweep]) / "report.md").read_text()
    assert str(bad) in text and "exceeds the unlabeled pool" in text


ESTIMATORS = ["train", "holdout", "prequential", "kfold", "kfold_scratch", "oracle"]
COMPOSITIONS = ["topk", "quota", "power", "shortfall", "stratified", "stratified_power"]


def _check_grid_job(job: Path, est: str) -> None:
    assert not (job / "FAILED").exists(), (job / "FAILED").read_text()
    est_rows = pd.read_csv(job / "estimates.csv")
    assert set(est_rows["estimator"]) == {est} and set(est_rows["round"]) == {0}
    assert pd.read_csv(job / "selections.csv").groupby("round").size().tolist() == [6, 4]
    rounds = pd.read_csv(job / "rounds.csv")
    assert rounds["oracle_control"].tolist() == [est == "oracle"] * 2
    assert rounds["seconds_estimate"].notna().iloc[0]
    # the round's row carries the estimates the selection used, as estimates.csv records them
    by_group = est_rows.set_index("group")["estimate"]
    for g in ("A", "B"):
        assert rounds.loc[0, f"estimate_{g}"] == pytest.approx(by_group[g], nan_ok=True)


def test_every_estimator_and_every_composition_runs(tmp_path, run_experiment):
    """Each estimator once and each composition once (paired in turn), in-process; every pair,
    from the command line: the slow test below."""
    for i, est in enumerate(ESTIMATORS):
        comp = COMPOSITIONS[i % len(COMPOSITIONS)]
        extra = ["strategy.estimator.steps=2"] if est.startswith("kfold") else []
        run = tmp_path / f"{est}-{comp}"
        run_experiment(run, *SMOKE, "al.rounds=1", "strategy=weighted_entropy", f"strategy/estimator={est}",
                       f"strategy/composition={comp}", *extra)  # fmt: skip
        _check_grid_job(run, est)


@pytest.mark.slow
def test_every_estimator_with_every_composition_runs_from_the_command_line(tmp_path, cohort_cache):
    for est in ESTIMATORS:
        extra = ["strategy.estimator.steps=2"] if est.startswith("kfold") else []
        _main("-m", *SMOKE, "al.rounds=1", "logger=none", "strategy=weighted_entropy", f"strategy/estimator={est}",
              f"strategy/composition={','.join(COMPOSITIONS)}", *extra, f"sweep_name=grid-{est}", cwd=tmp_path,
              cache=cohort_cache)  # fmt: skip
        jobs = sorted(
            p for p in (tmp_path / "logs" / "al" / "multiruns" / f"grid-{est}").iterdir() if (p / ".hydra").is_dir()
        )
        assert len(jobs) == len(COMPOSITIONS)
        for job in jobs:
            _check_grid_job(job, est)


def _spy_run(run_experiment, monkeypatch, run: Path, overrides) -> tuple[Path, list[set[str]]]:
    """Run in-process, recording every id set a training loader draws from."""
    from fair_seg_al.data.datamodule import ALDataModule

    drawn: list[set[str]] = []
    orig = ALDataModule.sampling_loader

    def spy(self, ids, samples, seed):
        drawn.append(set(ids))
        return orig(self, ids, samples, seed)

    monkeypatch.setattr(ALDataModule, "sampling_loader", spy)
    run_experiment(run, *overrides)
    return run, drawn


@pytest.mark.parametrize("reset", ["false", "true"])
def test_held_out_images_never_reach_a_training_batch(tmp_path, reset, run_experiment, monkeypatch):
    run, drawn = _spy_run(
        run_experiment,
        monkeypatch,
        tmp_path / "holdout",
        [
            *SMOKE,
            "al.rounds=3",
            "strategy/estimator=holdout",
            f"al.reset_weights={reset}",
            "+estimation.probes.kfold={_target_: fair_seg_al.estimation.KFoldEstimator, name: kfold, steps: 2}",
        ],
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


def test_oracle_estimates_equal_the_test_dice_and_are_marked(tmp_path, run_experiment):
    run = tmp_path / "oracle"
    run_experiment(run, *SMOKE, "strategy/estimator=oracle")
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


@pytest.mark.slow  # a CLI multirun of its own (~40 s); the fast suite keeps one
def test_relaunching_a_sweep_with_one_more_seed_runs_only_the_new_job(tmp_path, cohort_cache):
    common = ["-m", *SMOKE, "al.rounds=0", "resume=true", "sweep_name=grow"]  # W&B offline (the default)
    _main(*common, "seed=0", cwd=tmp_path, cache=cohort_cache)
    sweep = tmp_path / "logs" / "al" / "multiruns" / "grow"
    (first,) = [p for p in sweep.iterdir() if (p / ".hydra").is_dir()]
    before = (first / "rounds.csv").stat().st_mtime_ns, (first / "al_state.pt").stat().st_mtime_ns
    res = _main(*common, "seed=0,1", cwd=tmp_path, cache=cohort_cache)
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


def test_a_round_that_never_ended_saves_no_state(tmp_path, run_experiment):
    """A Trainer that trains nothing never calls on_train_end: the loop stops instead of saving a
    state that says the round is done."""
    run = tmp_path / "run"
    with pytest.raises(RuntimeError, match=r"round 0 did not end"):
        run_experiment(run, *SMOKE, "al.rounds=0", "+trainer.limit_train_batches=0")
    from fair_seg_al.al.state import STATE_FILE

    assert not (run / STATE_FILE).exists()
