"""A user's own cohort, as it arrives: three unequal groups, odd and mixed shapes, LAS and RAS
files, float64 images, extra columns, relative and absolute paths (fair_seg_al.examples.own_cohort)."""

from __future__ import annotations

import json

import nibabel as nib
import pandas as pd
import pytest

from fair_seg_al.examples.own_cohort import build

SIZES = ["data.test_per_group=1", "data.val_per_group=1", "al.budget=2", "al.rounds=1"]
FAST = ["trainer.max_steps=2", "logger=none"]


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    return build(tmp_path_factory.mktemp("own") / "cohort", group_sizes={"F": 5, "M": 4, "X": 3})


def test_the_example_cohort_is_as_messy_as_promised(own):
    df = pd.read_csv(own / "manifest.csv")
    assert df["group"].value_counts().to_dict() == {"F": 5, "M": 4, "X": 3}
    assert {"age", "site"} <= set(df.columns)
    assert df["image"].str.startswith("/").any() and (~df["image"].str.startswith("/")).any()
    shapes = {nib.load(own / p).shape for p in df["image"]}
    assert shapes == {(12, 16, 14), (13, 16, 14)}
    axcodes = {nib.aff2axcodes(nib.load(own / p).affine) for p in df["image"]}
    assert axcodes == {("R", "A", "S"), ("L", "A", "S")}
    assert nib.load(own / df["image"][0]).get_data_dtype() == "float64"


def test_runs_with_the_folder_init_balanced_and_sizes_only(own, tmp_path, run_experiment):
    run = tmp_path / "run"
    # the folder, init=balanced and sizes (in-process, few steps; the README's command is
    # validated as written by test_the_readme_command_fits_the_example_cohort)
    run_experiment(
        run, "source=folder", f"source.cohort_dir={own}", "init=balanced", "al.initial_size=3", *SIZES, *FAST
    )
    rounds = pd.read_csv(run / "rounds.csv")
    assert {"dice_F", "dice_M", "dice_X", "n_labeled_X"} <= set(rounds.columns)
    assert rounds.loc[0, ["n_labeled_F", "n_labeled_M", "n_labeled_X"]].tolist() == [1, 1, 1]  # balanced over F/M/X
    split = json.loads((run / "split.json").read_text())
    groups = pd.read_csv(own / "manifest.csv").set_index("subject_id")["group"]
    assert sorted(groups[split["test"]]) == ["F", "M", "X"]  # one test subject per group


def test_plain_fractions_override_for_any_groups(own, tmp_path, run_experiment):
    run = tmp_path / "run"
    run_experiment(run, "source=folder", f"source.cohort_dir={own}", "init.fractions={F:0.5,M:0.25,X:0.25}",
                   "al.initial_size=4", *SIZES, *FAST)  # fmt: skip
    rounds = pd.read_csv(run / "rounds.csv")
    assert rounds.loc[0, ["n_labeled_F", "n_labeled_M", "n_labeled_X"]].tolist() == [2, 1, 1]


def test_the_readme_command_fits_the_example_cohort(tmp_path):
    """The README's own-cohort command, read from the README, validates on the example as built."""
    import re

    from fair_seg_al.experiment import validate
    from tests.conftest import REPO
    from tests.test_experiment_config import cfg_with

    text = (REPO / "README.md").read_text().replace("\\\n", " ")
    line = next(
        ln
        for ln in text.splitlines()
        if ln.startswith("python -m fair_seg_al.main source=folder source.cohort_dir=data/own_cohort")
    )
    overrides = re.sub(r"\s+#.*$", "", line).split()[3:]
    folder = build(tmp_path / "own_cohort")  # the default sizes, as the README builds it
    overrides = [f"source.cohort_dir={folder}" if o.startswith("source.cohort_dir=") else o for o in overrides]
    assert "init=balanced" in overrides
    prep = validate(cfg_with(*overrides))
    assert sorted(prep.fractions) == ["F", "M", "X"]
