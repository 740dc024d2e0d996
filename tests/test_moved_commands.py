"""Commands and keys that moved keep working, or fail with a message that names the new form."""

from __future__ import annotations

import runpy
import sys

import pytest

from fair_seg_al.main import cli, moved_overrides


def test_moved_keys_are_named_with_their_new_form():
    assert moved_overrides(["strategy=entropy", "seed=3"]) == []
    assert moved_overrides(["data.cohort_dir=data/mine"]) == [
        "data.cohort_dir=data/mine: data.cohort_dir moved; write source=folder source.cohort_dir=data/mine"
    ]
    (message,) = moved_overrides(["+data.layout=nnunet"])
    assert "write source=nnunet" in message


def test_the_cli_refuses_a_moved_key_before_hydra_or_any_work(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["fair-seg-al", "data.cohort_dir=data/mine", "init=balanced"])
    with pytest.raises(SystemExit) as exit_:
        cli()
    assert exit_.value.code == 2
    assert "write source=folder source.cohort_dir=data/mine" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no cohort generated, no run folder


def test_the_old_report_module_still_runs_the_report(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["fair_seg_al.report", "--help"])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module("fair_seg_al.report", run_name="__main__")
    assert exit_.value.code == 0
    out = capsys.readouterr()
    assert "moved to fair_seg_al.analysis.report" in out.err
    assert "usage:" in out.out  # the report's own help


def test_a_run_begun_by_older_code_resumes_under_todays_column_names(tmp_path):
    import pandas as pd

    from fair_seg_al.al.recording import RunRecorder

    # round 0 as older code saved it in the AL state (Dice's summaries unprefixed)
    old = {"round": 0, "n_labeled": 6, "dice": 0.5, "dice_A": 0.6, "dice_B": 0.4, "disparity": 0.2,
           "disparity_sum": 0.2, "es_dice": 0.5 / 1.2, "ser": 1.5}  # fmt: skip
    new = {"round": 1, "n_labeled": 10, "dice": 0.6, "dice_A": 0.65, "dice_B": 0.55, "dice_disparity": 0.1,
           "dice_disparity_sum": 0.1, "es_dice": 0.6 / 1.1, "dice_ser": 1.2}  # fmt: skip
    recorder = RunRecorder(tmp_path, ["A", "B"])
    recorder.load_state_dict({"round_rows": [old], "selection_rows": []})
    recorder.round_rows.append(new)  # the resumed run's next round, by today's code
    recorder.write()
    rounds = pd.read_csv(tmp_path / "rounds.csv")
    assert not {"disparity", "disparity_sum", "ser"} & set(rounds.columns)  # one set of names, none half empty
    assert rounds["dice_disparity"].tolist() == [0.2, 0.1] and rounds["dice_ser"].tolist() == [1.5, 1.2]


def test_a_source_error_waits_for_the_config_check_instead_of_breaking_the_run_folder_name():
    from hydra import compose, initialize_config_dir

    from fair_seg_al.config import ConfigError
    from fair_seg_al.experiment import validate
    from tests.conftest import CONF

    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose(config_name="main", overrides=["source.name=nope", "logger=none"])
    assert "-nope-" in cfg.run_name  # the run folder's name resolves
    with pytest.raises(
        ConfigError, match=r"source: must be one of \['synthetic', 'folder', 'nnunet', 'bids'\], got 'nope'"
    ):
        validate(cfg)
