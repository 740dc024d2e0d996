"""sweeps/chunks.sh: a restarted sweep skips the chunks it already finished (issue 33's long reruns)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_chunks(tmp_path: Path, seeds: str, force: str = "0", chunk: int = 1, name: str = "cell") -> list[str]:
    """Run run_chunks with a job that only records its argument; return the seeds it ran."""
    script = f"""
set -euo pipefail
cd {tmp_path}
mkdir -p archive
PY=true CODE_DIR={REPO} CHUNK={chunk} SEEDS="{seeds}" FORCE={force}
source {REPO}/sweeps/chunks.sh
job() {{ echo "$1" >> ran.txt; }}
run_chunks '{name}' sweep archive job
"""
    subprocess.run(["bash", "-c", script], check=True, capture_output=True, text=True, timeout=60)
    ran = tmp_path / "ran.txt"
    return ran.read_text().split() if ran.exists() else []


def test_a_restart_skips_finished_chunks_and_force_reruns_them(tmp_path):
    assert run_chunks(tmp_path, "0 1") == ["seed=0", "seed=1"]
    (tmp_path / "ran.txt").unlink()
    assert run_chunks(tmp_path, "0 1 2") == ["seed=2"]  # 0 and 1 are logged as finished
    (tmp_path / "ran.txt").unlink()
    assert run_chunks(tmp_path, "1", force="1") == ["seed=1"]
    log = (tmp_path / "logs/al/multiruns/sweep/chunks.log").read_text()
    assert log.count("== cell chunk: seeds 1 took ") == 2 and log.count("seeds 0 took") == 1


def test_a_restart_with_another_chunk_size_skips_the_seeds_already_finished(tmp_path):
    assert run_chunks(tmp_path, "0 1 2", chunk=2) == ["seed=0,1", "seed=2"]
    (tmp_path / "ran.txt").unlink()
    # seeds 0-2 are logged as "0,1" and "2"; the restart chunks only what is left, one seed at a time
    assert run_chunks(tmp_path, "0 1 2 3 4 10 12", chunk=1) == ["seed=3", "seed=4", "seed=10", "seed=12"]
    (tmp_path / "ran.txt").unlink()
    # whole numbers only: "0,1" does not mark 11 or 21, "10" does not mark 100
    assert run_chunks(tmp_path, "11 21 1 0 100", chunk=2) == ["seed=11,21", "seed=100"]


def test_all_seeds_finished_runs_nothing_and_the_archive_log_counts_on_a_fresh_checkout(tmp_path):
    assert run_chunks(tmp_path, "0 1", chunk=2) == ["seed=0,1"]
    (tmp_path / "ran.txt").unlink()
    assert run_chunks(tmp_path, "1 0") == []  # nothing left: no job, a clean exit
    (tmp_path / "logs").rename(tmp_path / "old_logs")  # a fresh clone: only the archive's log
    assert run_chunks(tmp_path, "0 1 2") == ["seed=2"]


def test_a_cell_name_is_matched_literally_not_as_a_pattern(tmp_path):
    assert run_chunks(tmp_path, "0", name="axb") == ["seed=0"]
    (tmp_path / "ran.txt").unlink()
    assert run_chunks(tmp_path, "0", name="a.b") == ["seed=0"]  # "a.b" as a pattern would match axb's line


def test_a_chunk_size_below_one_is_refused(tmp_path):
    with pytest.raises(subprocess.CalledProcessError) as err:
        run_chunks(tmp_path, "0", chunk=0)
    assert "CHUNK must be a whole number >= 1" in err.value.stderr


@pytest.mark.parametrize("cells", ["rerun_minority_typo", "rerun_minority rerun_weka", "@"])
def test_the_reruns_runner_refuses_an_unknown_cell_before_it_runs_anything(cells):
    # a typo in the last cell is named before the first cell's days of runs, not after them
    done = subprocess.run(
        ["bash", str(REPO / "sweeps" / "reruns.sh")],
        env={"PATH": "/usr/bin:/bin", "CELLS": cells},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"CELLS: unknown cell {cells.split()[-1]} " in done.stderr and "==" not in done.stdout
