"""Generation is cached by config hash and safe against concurrent writers."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from fair_seg_al.cohort import generate_cohort
from fair_seg_al.cohort.generator import cohort_key, default_cohort_dir
from fair_seg_al.data import CohortFolder
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


def test_concurrent_generators_produce_one_valid_cohort(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from tests.conftest import make_spec
        from fair_seg_al.cohort import generate_cohort
        print(generate_cohort(make_spec(n_subjects=6, spacing_mm=4.0), cache_dir={str(tmp_path)!r},
                              num_workers=1, progress=False))
    """)
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    paths = {o[0].strip() for o in outs}
    assert len(paths) == 1
    folder = CohortFolder.load(paths.pop())
    assert len(folder) == 6
    leftovers = [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert leftovers == []
