"""Generation is cached by config hash and safe against concurrent writers."""

from __future__ import annotations

import errno
import json
import re
import subprocess
import sys
import textwrap
import time

import pytest
from filelock import FileLock

from fair_seg_al.cohort import generate_cohort
from fair_seg_al.cohort.generator import cohort_key, default_cohort_dir
from fair_seg_al.data import CohortFolder
from fair_seg_al.utils.locks import LockTimeoutError
from tests.conftest import REPO, make_spec


def _info(folder):
    return json.loads((folder / "cohort.json").read_text())


def test_worker_count_does_not_change_the_cohort(tmp_path):
    spec = make_spec(n_subjects=6, spacing_mm=4.0)
    one = generate_cohort(spec, out_dir=tmp_path / "one", num_workers=1, progress=False)
    two = generate_cohort(spec, out_dir=tmp_path / "two", num_workers=2, progress=False)
    assert _info(one)["content_hash"] == _info(two)["content_hash"]
    other = generate_cohort(
        make_spec(n_subjects=6, spacing_mm=4.0, seed=1), out_dir=tmp_path / "three", num_workers=1, progress=False
    )
    assert _info(other)["content_hash"] != _info(one)["content_hash"]


def test_second_call_reuses_the_cache(tmp_path):
    spec = make_spec(n_subjects=4, spacing_mm=4.0)
    first = generate_cohort(spec, cache_dir=tmp_path, num_workers=1, progress=False)
    assert first == default_cohort_dir(spec, tmp_path).resolve()
    assert cohort_key(spec) in first.name
    stamp = (first / "cohort.json").stat().st_mtime_ns
    again = generate_cohort(spec, cache_dir=tmp_path, num_workers=1, progress=False)
    assert again == first
    assert (first / "cohort.json").stat().st_mtime_ns == stamp
    # a changed config gets its own folder
    changed = generate_cohort(
        make_spec("weak", n_subjects=4, spacing_mm=4.0), cache_dir=tmp_path, num_workers=1, progress=False
    )
    assert changed != first
    assert cohort_key(make_spec("weak", n_subjects=4, spacing_mm=4.0)) != cohort_key(spec)


def test_out_dir_with_another_cohort_is_not_clobbered(tmp_path):
    out = generate_cohort(
        make_spec(n_subjects=4, spacing_mm=4.0), out_dir=tmp_path / "c", num_workers=1, progress=False
    )
    before = _info(out)["content_hash"]
    with pytest.raises(FileExistsError, match="another config"):
        generate_cohort(make_spec("weak", n_subjects=4, spacing_mm=4.0), out_dir=out, num_workers=1, progress=False)
    assert _info(out)["content_hash"] == before
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a fair_seg_al cohort"):
        generate_cohort(
            make_spec(n_subjects=4, spacing_mm=4.0), out_dir=tmp_path / "junk", num_workers=1, progress=False
        )
    assert (tmp_path / "junk" / "notes.txt").read_text() == "mine"
    replaced = generate_cohort(
        make_spec("weak", n_subjects=4, spacing_mm=4.0), out_dir=out, num_workers=1, progress=False, overwrite=True
    )
    assert _info(replaced)["content_hash"] != before


def _race(tmp_path, n: int, kind: str = "auto", lock_line: str = ""):
    """``n`` processes call generate_cohort for one cohort at the same moment; returns the folders and
    how many of them generated it (each counts its calls of the writer in ``writes.txt``)."""
    script = textwrap.dedent(f"""
        import sys, time, pathlib
        sys.path.insert(0, {str(REPO)!r})
        from tests.conftest import make_spec
        from fair_seg_al.cohort import generator
        {lock_line}
        write = generator._write_cohort
        def counted(*args, **kwargs):
            with open({str(tmp_path / "writes.txt")!r}, "a") as f:
                f.write("1\\n")
            return write(*args, **kwargs)
        generator._write_cohort = counted
        go = pathlib.Path({str(tmp_path / "go")!r})
        pathlib.Path({str(tmp_path)!r}, "ready-" + sys.argv[1]).touch()
        while not go.exists():  # start together: every process is imported and waiting
            time.sleep(0.01)
        print(generator.generate_cohort(make_spec(n_subjects=6, spacing_mm=4.0), cache_dir={str(tmp_path / "cache")!r},
                                        num_workers=1, progress=False, lock=sys.argv[2]))
    """)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(i), kind], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for i in range(n)
    ]
    deadline = time.time() + 120
    while len(list(tmp_path.glob("ready-*"))) < n and time.time() < deadline:
        time.sleep(0.05)
    (tmp_path / "go").touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-800:] for o in outs]
    writes = len((tmp_path / "writes.txt").read_text().split())
    return {o[0].strip() for o in outs}, writes


# three generator processes (17 s of the fast suite's 3 minutes): run with its control in the slow pass
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["auto", "soft"])
def test_concurrent_generators_write_the_cohort_once(tmp_path, kind):
    paths, writes = _race(tmp_path, 3, kind)
    assert writes == 1  # one generated it, the others waited and reused it
    assert len(paths) == 1
    assert len(CohortFolder.load(paths.pop())) == 6
    leftovers = [p.name for p in (tmp_path / "cache").iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert leftovers == []


@pytest.mark.slow  # the control: three processes that each generate the cohort
def test_without_the_lock_every_process_generates(tmp_path):
    """The control for the test above: the race it guards against is real here."""
    lock_line = "import contextlib; generator.folder_lock = lambda *a, **k: contextlib.nullcontext()"
    paths, writes = _race(tmp_path, 3, lock_line=lock_line)
    assert writes > 1
    assert len(paths) == 1  # the atomic rename still leaves one complete cohort


def test_a_killed_generators_temporary_folder_is_removed(tmp_path):
    spec = make_spec(n_subjects=4, spacing_mm=4.0)
    out = default_cohort_dir(spec, tmp_path).resolve()
    stale = out.parent / f".{out.name}.tmp-99999-deadbeef"
    (stale / "images").mkdir(parents=True)  # a generator killed mid-write
    other = out.parent / ".another-cohort.tmp-1-cafe"  # someone else's: not ours to remove
    other.mkdir()
    generate_cohort(spec, cache_dir=tmp_path, num_workers=1, progress=False)
    assert not stale.exists() and other.exists()


def test_a_lock_held_too_long_times_out_naming_the_lock_file(tmp_path):
    spec = make_spec(n_subjects=4, spacing_mm=4.0)
    out = default_cohort_dir(spec, tmp_path).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    lock_file = out.parent / f".{out.name}.lock"
    with FileLock(str(lock_file)):  # another process generating it
        with pytest.raises(LockTimeoutError, match=re.escape(str(lock_file))):
            generate_cohort(spec, cache_dir=tmp_path, num_workers=1, progress=False, lock_timeout_s=0.2)
    assert not out.exists()


def test_without_flock_a_lock_file_is_used(tmp_path, monkeypatch, caplog):
    """A file system without flock (ENOSYS from fcntl.flock): the lock falls back to a lock file."""
    import fcntl

    calls = []

    def no_flock(*args, **kwargs):
        calls.append(args)
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    spec = make_spec(n_subjects=4, spacing_mm=4.0)
    out = generate_cohort(spec, cache_dir=tmp_path, num_workers=1, progress=False)
    assert calls  # flock was tried, and failed
    assert len(CohortFolder.load(out)) == 4
    assert not list(tmp_path.glob("*.soft"))  # the lock file is gone once released
