"""The development cohort's choice rule (sweeps/studies/minority_dev.py), by hand."""

from __future__ import annotations

import pandas as pd
from studies import minority_dev as dev


def _table(**auc):
    return pd.DataFrame({"auc_worst_dice": auc}).rename_axis("setting")


def test_highest_mean_wins_and_a_near_tie_goes_to_the_simpler_setting():
    assert dev.choose(_table(D1=0.800, D2=0.801, D3=0.805, stratified_random=0.9)) == "D3"  # references never chosen
    assert dev.choose(_table(D1=0.800, D2=0.8015, D3=0.790)) == "D1"  # 0.0015 behind the top: a tie, D1 simpler
    assert dev.choose(_table(D1=0.800, D2=0.8025, D3=0.790)) == "D2"  # 0.0025: not a tie
    assert dev.choose(_table(stratified_random=0.8)) is None
