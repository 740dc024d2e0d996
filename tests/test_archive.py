"""Archiving a sweep's raw outputs: finished runs only, readable by the report, idempotent."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from fair_seg_al.analysis.archive import archive_sweep, main
from fair_seg_al.analysis.report import build_report
from tests.test_report import make_run


def _sweep(root):
    sweep = root / "sweep"
    done = make_run(sweep, "entropy-seed0", "entropy", 0, [0.6, 0.8], [0.5, 0.6])
    pd.DataFrame({"round": [0, 0, 1], "subject_id": ["t1", "t2", "t1"], "group": ["A", "B", "A"],
                  "dice": [0.5, 0.25, 0.75]}).to_csv(done / "test_dice.csv", index=False)  # fmt: skip
    make_run(sweep, "random-seed0", "random", 0, [0.6, 0.7], [0.5, 0.6])
    make_run(sweep, "entropy-seed1", "entropy", 1, [0.6], [0.1])  # stopped after round 0 of 1
    make_run(sweep, "random-seed1", "random", 1, [0.6, 0.8], [0.5, 0.6], failed="RuntimeError: boom")
    return sweep, done


def test_only_finished_runs_are_archived_and_the_report_reads_them(tmp_path):
    sweep, done = _sweep(tmp_path)
    dest = tmp_path / "docs" / "runs"
    result = archive_sweep(sweep, dest)
    assert result.copied == ["entropy-seed0", "random-seed0"]
    assert result.skipped["entropy-seed1"].startswith("unfinished: round 0 of 1")
    assert result.skipped["random-seed1"] == "failed: RuntimeError: boom"
    assert sorted(p.name for p in dest.iterdir()) == ["entropy-seed0", "random-seed0"]
    archived = dest / "entropy-seed0"
    assert (archived / ".hydra" / "config.yaml").read_bytes() == (done / ".hydra" / "config.yaml").read_bytes()
    assert not (archived / "test_dice.csv").exists()
    back = pd.read_csv(archived / "test_dice.csv.gz")
    assert back["dice"].tolist() == [0.5, 0.25, 0.75]
    # the report gives the same numbers from the archive as from the run folders
    a = pd.read_csv(build_report([dest], tmp_path / "ra") / "final_table.csv")
    b = pd.read_csv(build_report([sweep], tmp_path / "rb") / "final_table.csv")
    pd.testing.assert_frame_equal(a, b)


def test_archiving_again_changes_nothing_and_picks_up_newly_finished_runs(tmp_path):
    sweep, _ = _sweep(tmp_path)
    dest = tmp_path / "runs"
    archive_sweep(sweep, dest)
    gz = (dest / "entropy-seed0" / "test_dice.csv.gz").read_bytes()
    # the stopped run finishes (resumed): its rounds.csv grows
    make_run(tmp_path / "resumed", "entropy-seed1", "entropy", 1, [0.6, 0.7], [0.1, 0.5])
    (sweep / "entropy-seed1" / "rounds.csv").write_bytes(
        (tmp_path / "resumed" / "entropy-seed1" / "rounds.csv").read_bytes()
    )
    again = archive_sweep(sweep, dest)
    assert again.copied == ["entropy-seed1"]
    assert again.unchanged == ["entropy-seed0", "random-seed0"]
    assert (dest / "entropy-seed0" / "test_dice.csv.gz").read_bytes() == gz  # byte-identical: no git churn
    assert gzip.decompress(gz).startswith(b"round,subject_id")


def test_cli_names_a_missing_sweep(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        main([str(tmp_path / "nope"), str(tmp_path / "out")])
    assert err.value.code == 2 and "nope: no such sweep folder" in capsys.readouterr().err


def test_archived_split_names_the_cohort_by_key_not_by_path(tmp_path):
    import json

    from fair_seg_al.analysis.archive import portable_split

    split = {
        "cohort": "abc",
        "cohort_dir": str(tmp_path / "data" / "cohorts" / "default-strong-n40-seed0-1234"),
        "test": ["s1"],
    }
    out = json.loads(portable_split(json.dumps(split)))
    assert out == {**split, "cohort_dir": "default-strong-n40-seed0-1234"}


def test_no_committed_doc_names_this_checkout_by_its_absolute_path():
    repo = Path(__file__).resolve().parents[1]
    offenders = [
        str(f.relative_to(repo))
        for f in (repo / "docs").rglob("*")
        if f.is_file() and f.suffix in {".json", ".csv", ".md", ".yaml"} and str(repo) in f.read_text(errors="ignore")
    ]
    assert not offenders, offenders[:5]
