"""Two processes on one run folder: the second is refused at once, and the folder is left as it was."""

from __future__ import annotations

import pytest
from filelock import FileLock

from fair_seg_al.experiment import RUN_LOCK, RunLockedError, run
from tests.test_experiment_config import cfg_with


def test_a_second_process_on_the_same_run_folder_is_refused(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    held = FileLock(str(run_dir / RUN_LOCK))
    held.acquire()  # the first process, mid-run
    try:
        cfg = cfg_with("experiment=smoke", "resume=true", f"paths.cohort_cache_dir={tmp_path / 'c'}")
        with pytest.raises(RunLockedError, match="is being run by another process"):
            run(cfg, run_dir)
        assert sorted(p.name for p in run_dir.iterdir()) == [RUN_LOCK]  # nothing written
    finally:
        held.release()
