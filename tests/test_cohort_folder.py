"""The dataset format's loader: a valid folder loads; each kind of bad folder is named."""

from __future__ import annotations

import shutil

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from fair_seg_al.data import CohortFolder, CohortFormatError
from fair_seg_al.data.attributes import Binning, Grouping


@pytest.fixture
def cohort_copy(tiny_cohort, tmp_path):
    dst = tmp_path / "cohort"
    shutil.copytree(tiny_cohort, dst)
    return dst


def _manifest(folder):
    return pd.read_csv(folder / "manifest.csv", dtype=str)


def _save_manifest(folder, df):
    df.to_csv(folder / "manifest.csv", index=False)


def test_valid_cohort_loads(tiny_cohort):
    cohort = CohortFolder.load(tiny_cohort)
    assert len(cohort) == 6
    assert cohort.groups == ["A", "B"]
    assert len(cohort.subject_ids("A")) == len(cohort.subject_ids("B")) == 3
    rec = cohort.record("sub-0000")
    assert rec.image.is_file() and rec.label.is_file()
    assert "caudate_volume_mm3" in rec.extra
    assert len(cohort.fingerprint) == 64


def test_generated_files_have_the_documented_format(tiny_cohort):
    df = _manifest(tiny_cohort)
    for col in ("subject_id", "group", "image", "label", "bias_magnitude", "caudate_volume_mm3"):
        assert col in df.columns
    img = nib.load(tiny_cohort / df.image[0])
    lab = nib.load(tiny_cohort / df.label[0])
    assert lab.get_data_dtype() == np.uint8
    assert img.shape == lab.shape == (12, 16, 16)  # 48x64x64 mm at 4 mm
    assert np.allclose(img.affine, lab.affine)
    assert np.allclose(np.abs(np.diag(img.affine)[:3]), 4.0)
    vol = np.asarray(lab.dataobj).sum() * 64.0
    assert vol == pytest.approx(float(df.caudate_volume_mm3[0]))


def _expect(folder, *fragments, **kw):
    with pytest.raises(CohortFormatError) as err:
        CohortFolder.load(folder, **kw)
    for fragment in fragments:
        assert fragment in str(err.value), str(err.value)


def test_missing_folder_and_manifest(tmp_path):
    _expect(tmp_path / "nope", "does not exist")
    _expect(tmp_path, "no manifest.csv")


def test_missing_column(cohort_copy):
    _save_manifest(cohort_copy, _manifest(cohort_copy).drop(columns="group"))
    _expect(cohort_copy, "group column(s) ['group'] not found")
    _save_manifest(cohort_copy, _manifest(cohort_copy).drop(columns="image"))
    _expect(cohort_copy, "lacks column", "image")


def test_missing_image_file(cohort_copy):
    (cohort_copy / "images" / "sub-0002.nii.gz").unlink()
    _expect(cohort_copy, "subject sub-0002", "image file", "not found")


def test_shape_mismatch(cohort_copy):
    lab = nib.load(cohort_copy / "labels" / "sub-0001.nii.gz")
    data = np.asarray(lab.dataobj)[:-1]
    nib.save(nib.Nifti1Image(data, lab.affine), cohort_copy / "labels" / "sub-0001.nii.gz")
    _expect(cohort_copy, "subject sub-0001", "shape")


def test_affine_mismatch(cohort_copy):
    path = cohort_copy / "labels" / "sub-0003.nii.gz"
    lab = nib.load(path)
    affine = lab.affine.copy()
    affine[0, 3] += 10
    nib.save(nib.Nifti1Image(np.asarray(lab.dataobj), affine), path)
    _expect(cohort_copy, "subject sub-0003", "affines differ")


def test_empty_label(cohort_copy):
    path = cohort_copy / "labels" / "sub-0004.nii.gz"
    lab = nib.load(path)
    nib.save(nib.Nifti1Image(np.zeros(lab.shape, np.uint8), lab.affine), path)
    _expect(cohort_copy, "subject sub-0004", "label is empty")


def test_non_binary_label(cohort_copy):
    path = cohort_copy / "labels" / "sub-0004.nii.gz"
    lab = nib.load(path)
    nib.save(nib.Nifti1Image(np.asarray(lab.dataobj) * 37, lab.affine), path)
    _expect(cohort_copy, "subject sub-0004", "binary")


def test_unknown_group(cohort_copy):
    df = _manifest(cohort_copy)
    df.loc[df.subject_id == "sub-0005", "group"] = "C"
    _save_manifest(cohort_copy, df)
    _expect(cohort_copy, "subject sub-0005", "unknown group 'C'")
    # without cohort.json and without expected groups, any group name is allowed
    (cohort_copy / "cohort.json").unlink()
    assert "C" in CohortFolder.load(cohort_copy).groups
    _expect(cohort_copy, "unknown group 'C'", groups=["A", "B"])


def test_duplicate_ids_and_all_problems_listed(cohort_copy):
    df = _manifest(cohort_copy)
    df = pd.concat([df, df.iloc[[1]]], ignore_index=True)
    _save_manifest(cohort_copy, df)
    (cohort_copy / "images" / "sub-0002.nii.gz").unlink()
    _expect(cohort_copy, "subject sub-0001: duplicate subject_id (rows 3 and 8)", "subject sub-0002", "2 problem(s)")


def test_unreadable_nifti(cohort_copy):
    (cohort_copy / "images" / "sub-0000.nii.gz").write_bytes(b"not a nifti")
    _expect(cohort_copy, "subject sub-0000", "cannot read NIfTI")


def test_mixed_shapes_are_accepted_and_padded_to_one(cohort_copy):
    from fair_seg_al.data.datamodule import ALDataModule

    for kind in ("images", "labels"):
        path = cohort_copy / kind / "sub-0005.nii.gz"
        img = nib.load(path)
        nib.save(nib.Nifti1Image(np.asarray(img.dataobj)[:, :, :-2], img.affine), path)
    assert len(CohortFolder.load(cohort_copy)) == 6
    dm = ALDataModule(str(cohort_copy), test_per_group=1, val_per_group=1, pad_divisor=4)
    dm.setup()
    assert {tuple(im.shape) for im, _ in dm._store.values()} == {(1, 12, 16, 16)}  # 14 slices padded back to 16


def test_na_none_and_null_are_group_names(cohort_copy):
    df = _manifest(cohort_copy)
    df["group"] = ["NA", "None", "null", "NA", "None", "null"]
    _save_manifest(cohort_copy, df)
    (cohort_copy / "cohort.json").unlink()  # a user's folder: no generator's list of groups
    cohort = CohortFolder.load(cohort_copy)
    assert cohort.groups == ["NA", "None", "null"] and cohort.group_of("sub-0003") == "NA"


def test_intersectional_and_binned_groups_from_extra_columns(cohort_copy):
    df = _manifest(cohort_copy)
    df["sex"] = ["F", "M", "F", "M", "F", "M"]
    df["age"] = ["50", "61", "72", "55", "66", "80"]
    _save_manifest(cohort_copy, df)
    grouping = Grouping(columns=("sex", "age"), bins={"age": Binning(edges=(60.0,))})
    cohort = CohortFolder.load(cohort_copy, grouping=grouping)
    assert cohort.groups == ["F:age<60", "F:age>=60", "M:age<60", "M:age>=60"]
    assert [cohort.group_of(f"sub-000{i}") for i in range(6)] == [
        "F:age<60", "M:age>=60", "F:age>=60", "M:age<60", "F:age>=60", "M:age>=60",
    ]  # fmt: skip
    assert cohort.record("sub-0000").extra["sex"] == "F"


def test_nan_and_inf_voxels_are_refused(cohort_copy):
    for sid, bad in (("sub-0001", np.nan), ("sub-0002", np.inf)):
        path = cohort_copy / "images" / f"{sid}.nii.gz"
        img = nib.load(path)
        data = np.asarray(img.dataobj, dtype=np.float32)
        data[0, 0, 0] = bad
        nib.save(nib.Nifti1Image(data, img.affine), path)
    _expect(cohort_copy, "subject sub-0001: image has 1 NaN and 0 Inf voxels",
            "subject sub-0002: image has 0 NaN and 1 Inf voxels", "2 problem(s)")  # fmt: skip


def test_paths_outside_the_folder_are_refused_unless_allowed(cohort_copy, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(cohort_copy / "images" / "sub-0000.nii.gz", outside / "img.nii.gz")
    df = _manifest(cohort_copy)
    df.loc[0, "image"] = "../elsewhere/img.nii.gz"
    df.loc[1, "image"] = str((cohort_copy / df.loc[1, "image"]).resolve())  # absolute but inside: fine
    _save_manifest(cohort_copy, df)
    _expect(cohort_copy, "subject sub-0000: image path '../elsewhere/img.nii.gz' leads outside", "allow_outside_paths")
    assert len(CohortFolder.load(cohort_copy, allow_outside=True)) == 6


def test_multi_label_segmentation_with_chosen_values(cohort_copy):
    path = cohort_copy / "labels" / "sub-0000.nii.gz"
    img = nib.load(path)
    aseg = np.asarray(img.dataobj).astype(np.int16) * 11  # the structure as FreeSurfer's left caudate
    aseg[0, 0, :3] = 50  # another structure
    nib.save(nib.Nifti1Image(aseg, img.affine), path)
    _expect(cohort_copy, "subject sub-0000: label must be binary 0/1, found values [0, 11, 50]", "source.label_values")
    _expect(cohort_copy, "subject sub-0000: label has no voxel with the structure's value(s) [17]", label_values=[17])
    with pytest.raises(CohortFormatError, match="sub-0001"):  # the other subjects' labels are 0/1: no 11 there
        CohortFolder.load(cohort_copy, label_values=[11])
