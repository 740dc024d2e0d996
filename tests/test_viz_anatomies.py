"""The six-brain figure writes the per-subject values its prose quotes, beside the PNG."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from fair_seg_al.viz import SUBJECT_VALUES, plot_anatomies


def test_the_anatomy_figure_writes_its_subject_values_beside_it(tiny_cohort, tmp_path):
    folder = tmp_path / "cohort"
    shutil.copytree(tiny_cohort, folder)
    manifest = pd.read_csv(folder / "manifest.csv", dtype=str)
    # two made-up donors, one subject of each group on each, as a cohort=anatomies manifest names them
    manifest["anatomy"] = ["d1", "d1", "d2", "d2", "d1", "d2"]
    manifest["anatomy_age"] = manifest["anatomy"].map({"d1": "30", "d2": "60"})
    manifest["anatomy_sex"] = manifest["anatomy"].map({"d1": "F", "d2": "M"})
    manifest.to_csv(folder / "manifest.csv", index=False)

    png = plot_anatomies(folder, tmp_path / "figs" / "donors.png")
    assert png.is_file() and png.stat().st_size > 0
    written = pd.read_csv(tmp_path / "figs" / "donors_subjects.csv", dtype=str)
    assert tuple(written.columns) == SUBJECT_VALUES
    expected = manifest[["subject_id", "group", "anatomy", "anatomy_age", "anatomy_sex"]]
    pd.testing.assert_frame_equal(written[expected.columns], expected)
    assert written["caudate_volume_mm3"].tolist() == manifest["caudate_volume_mm3"].tolist()


def test_a_template_only_cohort_is_refused_by_name(tiny_cohort, tmp_path):
    with pytest.raises(ValueError, match="no 'anatomy' column"):
        plot_anatomies(tiny_cohort, tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []  # neither a figure nor a CSV of template rows
