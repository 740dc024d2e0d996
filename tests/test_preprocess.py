"""Preprocessing onto one grid: exact no-op on the synthetic cohort; reorientation, resampling,
crops and padding checked on small hand-made volumes."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import torch
import torchio as tio

from fair_seg_al.data import CohortFolder
from fair_seg_al.data.preprocess import Preprocessing, common_shape, pad_to


def _save(path, data, affine):
    nib.save(nib.Nifti1Image(data, affine), path)
    return str(path)


def test_synthetic_cohort_is_left_exactly_as_it_was(tiny_cohort):
    """The defaults (RAS, native spacing, no crop) change no voxel of a synthetic subject."""
    cohort = CohortFolder.load(tiny_cohort)
    transform = Preprocessing().transform()
    for rec in cohort.records:
        out = transform({"image": str(rec.image), "label": str(rec.label)})
        image = torch.from_numpy(np.asarray(nib.load(rec.image).dataobj, dtype=np.float32))[None]
        before = tio.ZNormalization()(tio.ScalarImage(tensor=image)).data  # the path before preprocessing existed
        label = torch.from_numpy(np.asarray(nib.load(rec.label).dataobj, dtype=np.uint8))[None]
        assert torch.equal(out["image"], before) and torch.equal(out["label"], label)
        assert out["image"].dtype == torch.float32 and out["label"].dtype == torch.uint8


def test_reorientation_to_ras(tmp_path):
    data = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4)  # float64, as users' files may be
    lab = np.zeros((2, 3, 4), np.uint8)
    lab[1, 2, 3] = 1
    las = np.diag([-2.0, 2.0, 2.0, 1.0])  # x axis runs right-to-left
    d = Preprocessing().transform()(
        {"image": _save(tmp_path / "i.nii.gz", data, las), "label": _save(tmp_path / "l.nii.gz", lab, las)}
    )
    # flipping x moves voxel (1, 2, 3) to (0, 2, 3)
    assert d["label"][0, 0, 2, 3] == 1 and d["label"].sum() == 1
    z = (data - data.mean()) / data.std(ddof=1)
    assert torch.allclose(d["image"][0], torch.from_numpy(z[::-1].copy()).float(), atol=1e-5)


def test_resampling_halves_the_grid_and_keeps_labels_binary(tmp_path):
    data = np.random.default_rng(0).normal(size=(8, 8, 8)).astype(np.float32)
    lab = np.zeros((8, 8, 8), np.uint8)
    lab[2:6, 2:6, 2:6] = 1
    aff = np.eye(4)  # 1 mm
    pre = Preprocessing(spacing=(2.0, 2.0, 2.0))
    d = pre.transform()(
        {"image": _save(tmp_path / "i.nii.gz", data, aff), "label": _save(tmp_path / "l.nii.gz", lab, aff)}
    )
    assert tuple(d["image"].shape) == (1, 4, 4, 4)
    assert set(d["label"].unique().tolist()) <= {0, 1} and d["label"].sum() > 0


def test_label_values_pick_the_structure(tmp_path):
    aseg = np.zeros((6, 6, 6), np.int16)
    aseg[1:3, 1:3, 1:3] = 11  # left caudate
    aseg[4:6, 4:6, 4:6] = 50  # right caudate
    img = np.ones((6, 6, 6), np.float32)
    img[0] = 2.0
    d = Preprocessing().transform([11])(
        {"image": _save(tmp_path / "i.nii.gz", img, np.eye(4)), "label": _save(tmp_path / "l.nii.gz", aseg, np.eye(4))}
    )
    assert d["label"].sum() == 8 and d["label"][0, 1, 1, 1] == 1 and d["label"][0, 4, 4, 4] == 0


def test_crops_label_centre_world_box_and_foreground(tmp_path):
    img = np.zeros((20, 20, 20), np.float32)
    img[4:16, 5:15, 6:14] = np.random.default_rng(1).uniform(1, 2, size=(12, 10, 8))
    lab = np.zeros((20, 20, 20), np.uint8)
    lab[9:12, 9:12, 9:12] = 1  # centre (10, 10, 10)
    aff = np.eye(4)
    aff[:3, 3] = [-10.0, -10.0, -10.0]  # voxel (10, 10, 10) is world (0, 0, 0)
    paths = {"image": _save(tmp_path / "i.nii.gz", img, aff), "label": _save(tmp_path / "l.nii.gz", lab, aff)}
    around = Preprocessing(crop="label_centre", size=(6, 6, 6)).transform()(paths)
    assert tuple(around["label"].shape) == (1, 6, 6, 6) and around["label"].sum() == 27
    world = Preprocessing(crop="world_box", size=(6, 6, 6), center_mm=(0.0, 0.0, 0.0)).transform()(paths)
    assert torch.equal(world["label"], around["label"])
    # a box reaching past the volume is padded back to its size
    edge = Preprocessing(crop="world_box", size=(8, 8, 8), center_mm=(-9.0, 0.0, 0.0)).transform()(paths)
    assert tuple(edge["image"].shape) == (1, 8, 8, 8)
    fg = Preprocessing(crop="foreground", margin=1).transform()(paths)
    assert tuple(fg["image"].shape) == (1, 14, 12, 10)  # the 12x10x8 non-zero box plus 1 voxel each side


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="crop must be one of"):
        Preprocessing(crop="brain")
    with pytest.raises(ValueError, match="needs size"):
        Preprocessing(crop="label_centre")
    with pytest.raises(ValueError, match="needs center_mm"):
        Preprocessing(crop="world_box", size=(4, 4, 4))
    with pytest.raises(ValueError, match="orientation must be"):
        Preprocessing(orientation="XYZ")


def test_common_shape_and_padding_by_hand():
    assert common_shape([(12, 16, 14), (13, 15, 14)], 8) == (16, 16, 16)
    image = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(1, 2, 3, 4) - 5.0
    label = torch.ones(1, 2, 3, 4, dtype=torch.uint8)
    pi, pl = pad_to(image, label, (4, 4, 4))
    assert tuple(pi.shape) == (1, 4, 4, 4)
    assert pi[0, 0, 0, 0] == -5.0 and torch.equal(pi[0, 1:3, 0:3, :], image[0])  # 1 before, 1 after in x; 0/1 in y
    assert pl.sum() == 24
    with pytest.raises(ValueError, match="smaller"):
        pad_to(image, label, (1, 4, 4))


def _header_only(folder):
    """Records whose image is an empty volume with the given affine (check_grids reads headers only)."""

    class Rec:
        def __init__(self, sid, affine):
            self.subject_id = sid
            self.image = _save(folder / f"{sid}.nii.gz", np.zeros((4, 4, 4), np.float32), affine)

    return Rec


def test_spacings_and_orientations_preprocessing_cannot_reconcile_are_named(tmp_path):
    from fair_seg_al.data.preprocess import check_grids

    Rec = _header_only(tmp_path)

    ras2 = np.diag([2.0, 2.0, 2.0, 1.0])
    las2 = np.diag([-2.0, 2.0, 2.0, 1.0])
    ras3 = np.diag([3.0, 3.0, 3.0, 1.0])
    records = [Rec("s0", ras2), Rec("s1", las2), Rec("s2", ras3)]
    native = check_grids(records, Preprocessing())  # RAS, native spacing: orientation fine, spacing not
    assert native == [
        "subject s2: voxel size (3.0, 3.0, 3.0) mm differs from (2.0, 2.0, 2.0) of s0 "
        "(resample with data/preprocess=resample or data.preprocess.spacing=MM)"
    ]
    assert check_grids(records, Preprocessing(spacing=(2.0, 2.0, 2.0))) == []  # resampling reconciles them
    keep = check_grids(records[:2], Preprocessing(orientation=None))
    assert keep == [
        "subject s1: orientation LAS differs from RAS of s0 (reorient with data.preprocess.orientation=RAS)"
    ]


def test_voxel_sizes_are_compared_in_the_axis_order_they_will_have(tmp_path):
    from fair_seg_al.data.preprocess import check_grids

    Rec = _header_only(tmp_path)

    axial = np.diag([1.0, 1.0, 2.0, 1.0])  # RAS, 2 mm slices along z
    sar = np.zeros((4, 4))  # file axes (S, A, R): the 2 mm axis stored first
    sar[2, 0], sar[1, 1], sar[0, 2], sar[3, 3] = 2.0, 1.0, 1.0, 1.0
    same_numbers = np.zeros((4, 4))  # file zooms (1, 1, 2) too, but the 2 mm axis is x (R) once in RAS
    same_numbers[1, 0], same_numbers[2, 1], same_numbers[0, 2], same_numbers[3, 3] = 1.0, 1.0, 2.0, 1.0
    assert check_grids([Rec("a", axial), Rec("b", sar)], Preprocessing()) == []  # equal after reorientation
    problems = check_grids([Rec("a", axial), Rec("c", same_numbers)], Preprocessing())
    assert len(problems) == 1 and problems[0].startswith(
        "subject c: voxel size (2.0, 1.0, 1.0) mm differs from (1.0, 1.0, 2.0)"
    )


def test_preprocessed_cache_follows_the_files_and_failures_name_the_subject(tiny_cohort, tmp_path):
    import shutil

    from fair_seg_al.data.datamodule import ALDataModule
    from fair_seg_al.data.errors import CohortFormatError

    cohort = tmp_path / "c"
    shutil.copytree(tiny_cohort, cohort)
    resample = {"spacing": 4.0, "crop": {"mode": "foreground"}}  # resamples (a no-op size) and crops: cached

    def image_of(sid):
        dm = ALDataModule(
            str(cohort), test_per_group=1, val_per_group=1, preprocess=resample, cache_dir=str(tmp_path / "cache")
        )
        dm.setup()
        return dm._store[sid][0]

    before = image_of("sub-0001")
    assert any((tmp_path / "cache" / "preprocessed").rglob("sub-0001.pt"))
    path = cohort / "images" / "sub-0001.nii.gz"
    img = nib.load(path)
    nib.save(nib.Nifti1Image(np.asarray(img.dataobj)[::-1].copy(), img.affine), path)  # edited in place
    assert not torch.equal(image_of("sub-0001"), before)  # not the stale cached volume
    nib.save(nib.Nifti1Image(np.ones(img.shape, np.float32), img.affine), path)  # a constant image
    with pytest.raises(CohortFormatError, match="subject sub-0001: preprocessing failed"):
        image_of("sub-0001")
