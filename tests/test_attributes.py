"""Groups from sensitive attributes: categorical, intersectional, binned; NA kept; faults listed."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from fair_seg_al.data.attributes import Binning, Grouping, assign_groups
from fair_seg_al.data.errors import GroupingError

CSV = """subject_id,sex,site,age
s1,F,a,55
s2,M,a,61
s3,NA,b,70
s4,F,b,82.5
s5,M,b,64
s6,None,a,70
"""


def table(text: str = CSV) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def test_one_categorical_column_keeps_na_and_none_as_names():
    groups, order = assign_groups(table(), Grouping(columns=("sex",)))
    assert groups.tolist() == ["F", "M", "NA", "F", "M", "None"]
    assert order == ["F", "M", "NA", "None"]


def test_intersectional_groups_in_column_order():
    groups, order = assign_groups(table(), Grouping(columns=("sex", "site")))
    assert groups.tolist() == ["F:a", "M:a", "NA:b", "F:b", "M:b", "None:a"]
    # every combination that occurs, sex-major
    assert order == ["F:a", "F:b", "M:a", "M:b", "NA:b", "None:a"]


def test_binned_age_by_edges_left_closed():
    g = Grouping(columns=("age",), bins={"age": Binning(edges=(60.0, 70.0))})
    groups, order = assign_groups(table(), g)
    # 55 < 60; 61, 64 in [60, 70); 70, 82.5 and 70 >= 70
    assert groups.tolist() == ["age<60", "age60-70", "age>=70", "age>=70", "age60-70", "age>=70"]
    assert order == ["age<60", "age60-70", "age>=70"]


def test_binned_by_quantiles_splits_the_cohort():
    g = Grouping(columns=("age",), bins={"age": Binning(quantiles=2)})
    groups, _ = assign_groups(table(), g)
    # median of 55, 61, 70, 82.5, 64, 70 = 67
    assert groups.tolist() == ["age<67", "age<67", "age>=67", "age>=67", "age<67", "age>=67"]


def test_sex_by_binned_age():
    g = Grouping.from_config({"columns": ["sex", "age"], "bins": {"age": {"edges": [65]}}, "separator": "|"})
    groups, _ = assign_groups(table(), g)
    assert groups.tolist() == ["F|age<65", "M|age<65", "NA|age>=65", "F|age>=65", "M|age<65", "None|age>=65"]


def test_missing_and_non_numeric_values_are_all_listed():
    bad = CSV.replace("s2,M,a,61", "s2,,a,61").replace("s5,M,b,64", "s5,M,b,sixty")
    with pytest.raises(GroupingError) as err:
        assign_groups(table(bad), Grouping(columns=("sex", "age"), bins={"age": Binning(edges=(60.0,))}))
    text = str(err.value)
    assert "2 subjects' attributes cannot be grouped" in text
    assert "subject s2: no value for 'sex'" in text and "subject s5: age='sixty' is not a number" in text


def test_unknown_column_and_bad_binning_are_named():
    with pytest.raises(GroupingError, match=r"group column\(s\) \['ethnicity'\] not found"):
        assign_groups(table(), Grouping(columns=("ethnicity",)))
    with pytest.raises(ValueError, match="exactly one of edges"):
        Binning()
    with pytest.raises(ValueError, match="increasing"):
        Binning(edges=(70.0, 60.0))
    with pytest.raises(ValueError, match="not among the group columns"):
        Grouping.from_config({"columns": ["sex"], "bins": {"age": {"quantiles": 3}}})
