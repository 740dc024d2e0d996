"""Bad data is refused from the command line with every problem named and no traceback."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from fair_seg_al.examples.own_cohort import build
from tests.conftest import REPO


@pytest.mark.slow  # a CLI process (8.5 s); each defect is refused in-process in tests/test_cohort_folder.py
def test_a_cohort_with_many_defects_is_refused_with_all_of_them_listed(tmp_path):
    own = build(tmp_path / "own", group_sizes={"F": 5, "M": 4, "X": 3})
    df = pd.read_csv(own / "manifest.csv", dtype=str, keep_default_na=False)
    # 1. a truncated image
    raw = gzip.decompress((own / df.loc[0, "image"]).read_bytes())
    (own / df.loc[0, "image"]).write_bytes(gzip.compress(raw[: len(raw) // 2]))
    # 2. NaN voxels; 3. a 4D image
    for i, fix in ((2, lambda a: np.where(a > 0.5, np.nan, a)), (4, lambda a: a[..., None].repeat(2, -1))):
        img = nib.load(own / df.loc[i, "image"])
        nib.save(nib.Nifti1Image(fix(np.asarray(img.dataobj)), img.affine), own / df.loc[i, "image"])
    # 4. a non-binary label; 5. a duplicate id; 6. a path outside the folder; 7. NA kept as a group
    lab = nib.load(own / df.loc[6, "label"])
    nib.save(nib.Nifti1Image(np.asarray(lab.dataobj) * 3, lab.affine), own / df.loc[6, "label"])
    df.loc[8, "subject_id"] = df.loc[7, "subject_id"]
    df.loc[9, "image"] = "../../etc/passwd"
    df.loc[10, "group"] = "NA"
    df.to_csv(own / "manifest.csv", index=False)
    env = {**os.environ, "FAIR_SEG_AL_ROOT": str(tmp_path)}
    res = subprocess.run([sys.executable, "-m", "fair_seg_al.main", "source=folder", f"source.cohort_dir={own}", "init=balanced",
                          "logger=none"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-2000:]
    err = res.stderr
    assert "6 problem(s)" in err, err
    for needle in (
        "subject case000: cannot read NIfTI",
        "subject case002: image has",
        "subject case004: image must be 3D",
        "subject case006: label must be binary 0/1, found values [0, 3]",
        "subject case007: duplicate subject_id (rows 9 and 10)",
        "subject case009: image path '../../etc/passwd' leads outside",
    ):
        assert needle in err, needle
    assert "case010" not in err  # NA is a group name, not a problem
