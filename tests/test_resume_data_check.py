"""Resume checks the data itself: an edited image is refused; a re-saved manifest is not."""

from __future__ import annotations

import os
import shutil

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from fair_seg_al.data.datamodule import ALDataModule
from fair_seg_al.data.errors import DataChangedError
from fair_seg_al.experiment import run
from tests.test_experiment_config import cfg_with

SIZES = {"test_per_group": 1, "val_per_group": 1}


@pytest.fixture
def user_folder(tiny_cohort, tmp_path):
    """The tiny cohort as a user's folder: manifest and NIfTI files, no generator record."""
    folder = tmp_path / "mine"
    shutil.copytree(tiny_cohort, folder)
    (folder / "cohort.json").unlink()
    return folder


def edit_one_voxel(path) -> None:
    img = nib.load(path)
    data = np.asarray(img.dataobj).copy()
    data[tuple(s // 2 for s in data.shape)] += 1.0
    nib.save(nib.Nifti1Image(data, img.affine, img.header), path)


def test_same_content_resumes_whatever_the_manifest_bytes_and_file_times(user_folder):
    state = ALDataModule(str(user_folder), **SIZES).state_dict()
    manifest = pd.read_csv(user_folder / "manifest.csv", dtype=str)
    manifest["scanner"] = "site-1"  # an extra column, and the columns in another order
    manifest[list(reversed(manifest.columns))].to_csv(user_folder / "manifest.csv", index=False)
    for f in user_folder.glob("images/*"):
        os.utime(f, ns=(1, 1))  # copied without keeping times
    again = ALDataModule(str(user_folder), **SIZES)
    assert again.cohort.fingerprint != state["cohort"]  # the manifest's bytes did change
    again.check_same_data(state)  # ... and the data did not: no error
    assert again.content_fingerprint == state["content"]


def test_an_edited_image_is_refused(user_folder):
    state = ALDataModule(str(user_folder), **SIZES).state_dict()
    edit_one_voxel(next(iter(sorted(user_folder.glob("images/*")))))
    with pytest.raises(DataChangedError, match="images or labels changed"):
        ALDataModule(str(user_folder), **SIZES).check_same_data(state)


def test_resume_true_on_edited_data_stops_before_writing_anything(user_folder, tmp_path):
    common = [
        "experiment=smoke",
        "source=folder",
        f"source.cohort_dir={user_folder}",
        "data.test_per_group=1",
        "data.val_per_group=1",
        "init=balanced",
        "al.initial_size=2",
        "al.rounds=0",
        "trainer.max_steps=2",
    ]
    run_dir = tmp_path / "run"
    run(cfg_with(*common), run_dir)
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    edit_one_voxel(next(iter(sorted(user_folder.glob("labels/*")))))
    with pytest.raises(DataChangedError, match="al_state.pt"):
        run(cfg_with(*common, "resume=true"), run_dir)
    after = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    assert after == before
