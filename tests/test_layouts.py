"""nnU-Net and BIDS layouts read as they are; intersectional and binned groups over them."""

from __future__ import annotations

import json
import shutil

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from fair_seg_al.data.attributes import Binning, Grouping
from fair_seg_al.data.errors import CohortFormatError
from fair_seg_al.data.layouts import load_cohort
from fair_seg_al.examples.own_cohort import build


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    return build(tmp_path_factory.mktemp("own") / "cohort", group_sizes={"F": 5, "M": 4, "X": 3})


def as_nnunet(own, dest, multi_label=True):
    """The example cohort in the nnU-Net raw layout; masks as a multi-label map (thalamus = 2)."""
    df = pd.read_csv(own / "manifest.csv")
    (dest / "imagesTr").mkdir(parents=True)
    (dest / "labelsTr").mkdir()
    for r in df.itertuples():
        shutil.copy(own / r.image, dest / "imagesTr" / f"{r.subject_id}_0000.nii.gz")
        lab = nib.load(own / r.label)
        data = np.asarray(lab.dataobj).astype(np.uint8) * (2 if multi_label else 1)
        data[0, 0, 0] = 1 if multi_label else data[0, 0, 0]  # another structure, value 1
        nib.save(nib.Nifti1Image(data, lab.affine), dest / "labelsTr" / f"{r.subject_id}.nii.gz")
    meta = {"channel_names": {"0": "T1"}, "labels": {"background": 0, "other": 1, "thalamus": 2},
            "numTraining": len(df), "file_ending": ".nii.gz"}  # fmt: skip
    (dest / "dataset.json").write_text(json.dumps(meta))
    df.rename(columns={"subject_id": "case", "group": "sex"})[["case", "sex", "age", "site"]].to_csv(
        dest / "attributes.csv", index=False
    )
    return dest


def as_bids(own, dest):
    df = pd.read_csv(own / "manifest.csv")
    rows = []
    for r in df.itertuples():
        sub = r.subject_id.replace("case", "")
        (dest / f"sub-{sub}" / "anat").mkdir(parents=True)
        masks = dest / "derivatives" / "masks" / f"sub-{sub}" / "anat"
        masks.mkdir(parents=True)
        shutil.copy(own / r.image, dest / f"sub-{sub}" / "anat" / f"sub-{sub}_T1w.nii.gz")
        shutil.copy(own / r.label, masks / f"sub-{sub}_desc-structure_mask.nii.gz")
        rows.append({"participant_id": f"sub-{sub}", "sex": r.group, "age": r.age, "site": r.site})
    pd.DataFrame(rows).to_csv(dest / "participants.tsv", sep="\t", index=False)
    return dest


def test_nnunet_layout_with_a_named_structure_and_intersectional_groups(own, tmp_path):
    root = as_nnunet(own, tmp_path / "Dataset001_Thalamus")
    grouping = Grouping(columns=("sex", "site"))
    cohort = load_cohort(root, "nnunet", {"structure": "thalamus"}, grouping=grouping)
    assert len(cohort) == 12
    assert cohort.groups == ["F:site1", "F:site2", "M:site1", "M:site2", "X:site1", "X:site2"]
    assert cohort.record("case000").image.name == "case000_0000.nii.gz"
    # without naming the structure the 0/1/2 masks are refused, each subject named
    with pytest.raises(CohortFormatError, match="subject case000: label must be binary"):
        load_cohort(root, "nnunet", grouping=grouping)
    with pytest.raises(CohortFormatError, match=r"no label 'caudate'; its labels are"):
        load_cohort(root, "nnunet", {"structure": "caudate"}, grouping=grouping)


def test_nnunet_case_without_attributes_is_named(own, tmp_path):
    root = as_nnunet(own, tmp_path / "ds", multi_label=False)
    attrs = pd.read_csv(root / "attributes.csv")
    attrs.iloc[1:].to_csv(root / "attributes.csv", index=False)
    with pytest.raises(
        CohortFormatError, match=r"1 case\(s\) in labelsTr have no attributes row, e.g. \['case000.nii.gz'\]"
    ):
        load_cohort(root, "nnunet", grouping=Grouping(columns=("sex",)))


def test_bids_layout_with_binned_age_and_na_missing(own, tmp_path):
    root = as_bids(own, tmp_path / "bids")
    cohort = load_cohort(root, "bids", grouping=Grouping(columns=("age",), bins={"age": Binning(edges=(70.0,))}))
    assert cohort.groups == ["age<70", "age>=70"] and len(cohort) == 12
    assert cohort.record("sub-003").label.parent.name == "anat" and "derivatives" in str(cohort.record("sub-003").label)
    parts = pd.read_csv(root / "participants.tsv", sep="\t", dtype=str, keep_default_na=False)
    parts.loc[2, "age"] = "n/a"  # BIDS's missing value
    parts.to_csv(root / "participants.tsv", sep="\t", index=False)
    with pytest.raises(CohortFormatError, match="subject sub-002: no value for 'age'"):
        load_cohort(root, "bids", grouping=Grouping(columns=("age",), bins={"age": Binning(edges=(70.0,))}))
    (root / "derivatives" / "masks" / "sub-005" / "anat" / "sub-005_desc-structure_mask.nii.gz").unlink()
    with pytest.raises(CohortFormatError, match="subject sub-005: label file"):
        load_cohort(root, "bids", grouping=Grouping(columns=("sex",)))


FAST = ["data.test_per_group=1", "data.val_per_group=0", "al.initial_size=6", "al.budget=2", "al.rounds=1",
        "trainer.max_steps=2", "logger=none"]  # fmt: skip


@pytest.fixture(scope="module")
def own_big(tmp_path_factory):
    return build(tmp_path_factory.mktemp("own_big") / "cohort", group_sizes={"F": 8, "M": 8, "X": 8})


def test_nnunet_and_bids_run_end_to_end_with_intersectional_and_binned_groups(own_big, tmp_path, run_experiment):
    own = own_big
    nn = as_nnunet(own, tmp_path / "Dataset001_Thalamus")
    run = tmp_path / "nn_run"
    run_experiment(run, f"source.cohort_dir={nn}", "source=nnunet", "source.options.structure=thalamus",
                   "source.groups.columns=[sex,site]", "init=balanced", *FAST)  # fmt: skip
    rounds = pd.read_csv(run / "rounds.csv")
    assert {f"dice_{s}:site{k}" for s in "FMX" for k in (1, 2)} <= set(rounds.columns)
    bids = as_bids(own, tmp_path / "bids")
    run = tmp_path / "bids_run"
    run_experiment(run, f"source.cohort_dir={bids}", "source=bids", "source.groups.columns=[sex,age]",
                   "source.groups.bins={age:{edges:[70]}}", "init=balanced", *FAST)  # fmt: skip
    cols = set(pd.read_csv(run / "rounds.csv").columns)
    group_cols = {c for c in cols if c.startswith("dice_")} - {"dice_disparity", "dice_disparity_sum", "dice_ser"}
    assert group_cols <= {f"dice_{s}:age{b}" for s in "FMX" for b in ("<70", ">=70")}
    assert len(group_cols) >= 4


def test_a_users_cohort_is_named_by_its_folder_and_not_hashed_by_bias(own):
    from hydra import compose, initialize_config_dir

    from fair_seg_al.run_identity import experiment_hash
    from tests.conftest import REPO

    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        a, b = (
            compose("main", overrides=["source=folder", f"source.cohort_dir={own}", f"bias={x}"])
            for x in ("strong", "weak")
        )
        c, d = (compose("main", overrides=[f"bias={x}"]) for x in ("strong", "weak"))
    assert a.run_name == "weighted_entropy-cohort-imbalanced-seed0"  # the folder's name, not the bias
    assert experiment_hash(a) == experiment_hash(b)
    assert c.run_name == "weighted_entropy-strong-imbalanced-seed0" and experiment_hash(c) != experiment_hash(d)


def test_bad_option_types_are_named_not_tracebacks(own, tmp_path):
    from fair_seg_al.config import ConfigError
    from fair_seg_al.experiment import validate
    from tests.test_experiment_config import cfg_with

    with pytest.raises(ConfigError, match=r"source.label_values: must be a list of integer label values"):
        validate(cfg_with("source=folder", f"source.cohort_dir={own}", "source.label_values=11"))
    with pytest.raises(ConfigError, match=r"source.groups: bins.age must be"):
        validate(
            cfg_with(
                "source=folder",
                f"source.cohort_dir={own}",
                "source.groups.columns=[age]",
                "source.groups.bins={age:70}",
            )
        )
    root = as_bids(own, tmp_path / "bids")
    with pytest.raises(CohortFormatError, match=r"image_pattern / label_pattern may use only \{subject\}"):
        load_cohort(
            root, "bids", {"image_pattern": "sub-{participant}/anat/x.nii.gz"}, grouping=Grouping(columns=("sex",))
        )
