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
