"""Provenance: every run folder names the code, libraries and machine that made it; the report
refuses to pool runs of different code unless told to. (W&B's config: tests/test_experiment_config.py.)"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from fair_seg_al.analysis.archive import archive_sweep
from fair_seg_al.analysis.report import ReportError, build_report, main
from fair_seg_al.utils import provenance as prov
from tests.conftest import REPO, SMOKE
from tests.test_report import make_run

GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A git repository holding a package folder ``pkg``, ``conf`` and a README, all committed."""
    repo = tmp_path / "repo"
    for name, text in {"pkg/__init__.py": "x = 1\n", "conf/main.yaml": "a: 1\n", "README.md": "hi\n"}.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    return repo


def test_a_clean_then_dirty_checkout(checkout):
    head = _git(checkout, "rev-parse", "HEAD")
    code = prov.code_provenance(checkout / "pkg")
    assert code["source"] == "git" and code["commit"] == head and len(head) == 40
    assert (code["dirty"], code["dirty_paths"], code["diff_sha"]) == (False, 0, None)
    assert prov.code_id(code) == head[:7]
    # a change outside the package and conf/ is not the code's
    (checkout / "README.md").write_text("changed\n")
    assert prov.code_provenance(checkout / "pkg")["dirty"] is False
    (checkout / "pkg" / "__init__.py").write_text("x = 2\n")
    one = prov.code_provenance(checkout / "pkg")
    assert (one["commit"], one["dirty"], one["dirty_paths"]) == (head, True, 1)
    assert prov.code_id(one) == head[:7] + "+dirty"
    # two different uncommitted changes at one commit are told apart
    (checkout / "pkg" / "__init__.py").write_text("x = 3\n")
    other = prov.code_provenance(checkout / "pkg")
    assert other["dirty_paths"] == 1 and other["diff_sha"] != one["diff_sha"]
    (checkout / "conf" / "new.yaml").write_text("b: 2\n")  # an untracked config counts
    assert prov.code_provenance(checkout / "pkg")["dirty_paths"] == 2
    _git(checkout, "commit", "-q", "-am", "second")
    (checkout / "conf" / "new.yaml").unlink()
    code = prov.code_provenance(checkout / "pkg")
    assert code["commit"] == _git(checkout, "rev-parse", "HEAD") != head and code["dirty"] is False


def test_outside_a_checkout_the_installed_version_names_the_code(tmp_path, monkeypatch):
    pkg = tmp_path / "site-packages" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    monkeypatch.setattr(prov, "_version", lambda: "9.8.7")
    code = prov.code_provenance(pkg)
    assert code["source"] == "wheel" and code["commit"] is None
    assert prov.code_id(code) == "wheel-9.8.7"
    monkeypatch.setattr(prov, "_version", lambda: None)
    assert prov.code_id(prov.code_provenance(pkg)) == "unknown"


def test_a_package_installed_inside_some_checkout_is_not_that_checkouts_code(checkout, monkeypatch):
    (checkout / ".gitignore").write_text("venv/\n")
    pkg = checkout / "venv" / "lib" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    monkeypatch.setattr(prov, "_version", lambda: "1.2.3")
    assert prov.code_id(prov.code_provenance(pkg)) == "wheel-1.2.3"


def test_without_git_the_code_is_unknown_and_nothing_fails(checkout, tmp_path, monkeypatch):
    empty = tmp_path / "no-git-here"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert shutil.which("git") is None
    code = prov.code_provenance(checkout / "pkg")
    assert code["source"] == "unknown" and "git" in code["reason"]
    record = prov.provenance(checkout / "pkg")
    assert record["code_id"] == "unknown"
    assert record["versions"]["torch"] == __import__("torch").__version__


def test_versions_and_machine():
    import numpy
    import torch

    record = prov.provenance()
    assert record["versions"]["torch"] == torch.__version__
    assert record["versions"]["numpy"] == numpy.__version__
    assert set(record["versions"]) >= {"python", "monai", "torchio", "pytorch_lightning", "hydra-core"}
    assert "not installed" not in record["versions"].values()
    assert record["machine"]["vector_isa"] in {"AVX-512", "AVX2", "other", "unknown"}
    assert (record["machine"]["gpu"] is None) == (not torch.cuda.is_available())
    json.dumps(record)  # plain data: it goes to a JSON file and to W&B's config


def _fake(code_id: str, torch_version: str = "2.0") -> dict:
    return {"code_id": code_id, "code": {"commit": code_id}, "versions": {"torch": torch_version}, "machine": {}}


def test_a_resume_by_other_code_is_recorded_beside_the_original(tmp_path, caplog):
    run = tmp_path / "run"
    run.mkdir()
    prov.record_provenance(run, current=_fake("aaaaaaa"))
    assert prov.run_code_id(prov.read_provenance(run)) == "aaaaaaa"
    prov.record_provenance(run, resumed=True, current=_fake("aaaaaaa"))  # same code: nothing to add
    assert "resumed_with" not in prov.read_provenance(run)
    with caplog.at_level(logging.WARNING, logger=prov.__name__):
        prov.record_provenance(run, resumed=True, current=_fake("bbbbbbb"))
    assert "resumed by code bbbbbbb" in caplog.text
    prov.record_provenance(run, resumed=True, current=_fake("bbbbbbb"))  # the same resuming code again
    prov.record_provenance(run, resumed=True, current=_fake("bbbbbbb", torch_version="2.1"))  # a new torch
    saved = prov.read_provenance(run)
    assert saved["code_id"] == "aaaaaaa" and saved["code"] == {"commit": "aaaaaaa"}
    assert [(r["code_id"], r["versions"]["torch"]) for r in saved["resumed_with"]] == [
        ("bbbbbbb", "2.0"),
        ("bbbbbbb", "2.1"),
    ]
    assert prov.run_code_id(saved) == "aaaaaaa resumed with bbbbbbb resumed with bbbbbbb"
    # a fresh start in the folder (an earlier attempt left no state) replaces the record
    prov.record_provenance(run, resumed=False, current=_fake("ccccccc"))
    assert prov.run_code_id(prov.read_provenance(run)) == "ccccccc"


def test_a_run_begun_before_provenance_and_resumed_says_so(tmp_path):
    prov.record_provenance(tmp_path, resumed=True, current=_fake("ddddddd"))
    assert prov.run_code_id(prov.read_provenance(tmp_path)) == "unrecorded resumed with ddddddd"
    assert prov.run_code_id(None) == "unrecorded"


def _expected_code_id() -> str:
    """This checkout's code id, from git directly (not through the module under test)."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    if head.returncode != 0:  # a copy of the tree without .git
        return "not a checkout"
    paths = ["fair_seg_al", "conf", "hydra_plugins"]
    status = subprocess.run(["git", "status", "--porcelain", "--", *paths], cwd=REPO, capture_output=True, text=True)
    return head.stdout.strip()[:7] + ("+dirty" if status.stdout.strip() else "")


def test_a_run_folder_names_its_code_and_a_resume_by_other_code(tmp_path, run_experiment, monkeypatch):
    from fair_seg_al.al import loop

    class Interrupted(Exception):
        pass

    orig = loop.ActiveLearningLoop._save

    def crash(self, completed_round):
        orig(self, completed_round)
        raise Interrupted

    run = tmp_path / "run"
    common = [*SMOKE, "al.rounds=1", "trainer.max_steps=1"]
    with monkeypatch.context() as m:
        m.setattr(loop.ActiveLearningLoop, "_save", crash)
        with pytest.raises(Interrupted):
            run_experiment(run, *common)
    first = json.loads((run / "provenance.json").read_text())
    expected = _expected_code_id()
    if expected == "not a checkout":
        assert first["code_id"] == "unknown" or first["code_id"].startswith("wheel-")
    else:
        assert first["code_id"] == expected
    assert (run / "split.json").is_file() and "resumed_with" not in first
    # resumed by other code: the original stays, the resuming code is added
    other = {**prov.provenance(), "code_id": "fedcba9", "code": {"source": "git", "commit": "fedcba9" * 5}}
    monkeypatch.setattr(prov, "provenance", lambda package_dir=None: other)
    run_experiment(run, *common, f"resume={run}")
    assert pd.read_csv(run / "rounds.csv")["round"].tolist() == [0, 1]
    saved = json.loads((run / "provenance.json").read_text())
    assert saved["code_id"] == first["code_id"] and saved["code"] == first["code"]
    assert [r["code_id"] for r in saved["resumed_with"]] == ["fedcba9"]


def _runs_of_two_codes(root: Path) -> Path:
    sweep = root / "sweep"
    for name, strategy, code in [("e0", "entropy", "aaaaaaa"), ("r0", "random", "aaaaaaa"), ("s0", "stratified_random", "bbbbbbb+dirty")]:  # fmt: skip
        run = make_run(sweep, name, strategy, 0, [0.6, 0.8], [0.5, 0.6])
        (run / "provenance.json").write_text(json.dumps(_fake(code)))
    return sweep


def test_the_report_refuses_runs_of_different_code_unless_told(tmp_path, capsys):
    sweep = _runs_of_two_codes(tmp_path)
    with pytest.raises(ReportError) as err:
        build_report([sweep], tmp_path / "out")
    message = str(err.value)
    # runs in the report's order: random before entropy
    assert "code aaaaaaa: 2 run(s) (r0, e0)" in message and "code bbbbbbb+dirty: 1 run(s) (s0)" in message
    assert "--allow-mixed-code" in message and not (tmp_path / "out").exists()
    with pytest.raises(SystemExit) as exit_:
        main([str(sweep), "--out", str(tmp_path / "out")])
    assert exit_.value.code == 2 and "bbbbbbb+dirty" in capsys.readouterr().err
    main([str(sweep), "--out", str(tmp_path / "out"), "--allow-mixed-code"])
    text = (tmp_path / "out" / "report.md").read_text()
    assert "**Mixed code, pooled as asked (`--allow-mixed-code`)**: 2 code versions" in text
    assert "`aaaaaaa` (2 runs), `bbbbbbb+dirty` (1 run)" in text
    assert "--allow-mixed-code" in text.splitlines()[2]  # the command that produced it


def test_the_report_names_one_code_and_old_runs_are_one_class(tmp_path):
    sweep = _runs_of_two_codes(tmp_path)
    (sweep / "s0" / "provenance.json").write_text(json.dumps(_fake("aaaaaaa")))
    # a failed job refused before it wrote anything has no provenance: listed, not pooled
    make_run(sweep, "f0", "entropy", 1, [0.6, 0.8], [0.5, 0.6], failed="ConfigError: al.budget")
    text = (build_report([sweep], tmp_path / "one") / "report.md").read_text()
    assert "Code: `aaaaaaa` (3 runs)." in text and "Mixed code" not in text and "al.budget" in text
    shutil.rmtree(sweep / "f0")
    # runs from before provenance: one class, and their report has no code line
    for run in sweep.iterdir():
        (run / "provenance.json").unlink()
    text = (build_report([sweep], tmp_path / "old") / "report.md").read_text()
    assert "Code:" not in text and "Mixed code" not in text
    # one recorded run among unrecorded ones is a second class
    (sweep / "e0" / "provenance.json").write_text(json.dumps(_fake("aaaaaaa")))
    with pytest.raises(ReportError, match=r"code unrecorded: 2 run\(s\) \(r0, s0\)"):
        build_report([sweep], tmp_path / "mixed")


def test_the_archive_keeps_the_provenance(tmp_path):
    sweep = _runs_of_two_codes(tmp_path)
    archive_sweep(sweep, tmp_path / "archive")
    for name in ("e0", "s0"):
        assert (tmp_path / "archive" / name / "provenance.json").read_bytes() == (
            sweep / name / "provenance.json"
        ).read_bytes()
