"""The composition-matched control: group counts copied from a reference run, round by round."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fair_seg_al.run_identity import strategy_label
from fair_seg_al.strategies import MaskedEntropyStrategy, Matched, SelectionContext


def write_selections(folder, rounds: dict[int, dict[str, int]]):
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {"round": r, "subject_id": f"{g}{r}-{i}", "group": g}
        for r, counts in rounds.items()
        for g, n in counts.items()
        for i in range(n)
    ]
    pd.DataFrame(rows).to_csv(folder / "selections.csv", index=False)
    return folder


REFERENCE = {0: {"A": 9, "B": 1}, 1: {"A": 2, "B": 8}, 2: {"B": 10}}


def test_counts_follow_the_reference_and_scores_pick_within_groups(tmp_path):
    ref = write_selections(tmp_path / "ref", REFERENCE)
    comp = Matched(str(ref))
    groups = np.array(["A"] * 20 + ["B"] * 20)
    scores = np.arange(40, dtype=float)[::-1]  # A scores highest: top-k would take only A
    rng = np.random.default_rng(0)
    picked = comp.compose(scores, groups, 10, rng, labeled_counts={"A": 9, "B": 1}, round=0)
    assert sorted(groups[picked].tolist()) == ["A"] * 2 + ["B"] * 8
    assert set(picked[groups[picked] == "A"]) == {0, 1}  # the two best A
    assert set(picked[groups[picked] == "B"]) == set(range(20, 28))  # the eight best B
    picked = comp.compose(scores, groups, 10, rng, labeled_counts={"A": 11, "B": 9}, round=1)
    assert groups[picked].tolist() == ["B"] * 10


def test_a_different_initial_set_is_refused(tmp_path):
    comp = Matched(str(write_selections(tmp_path / "ref", REFERENCE)))
    groups = np.array(["A"] * 20 + ["B"] * 20)
    with pytest.raises(ValueError, match="not the same seed and initial set"):
        comp.compose(np.zeros(40), groups, 10, np.random.default_rng(0), labeled_counts={"A": 5, "B": 5}, round=0)


def test_an_unfinished_reference_is_refused(tmp_path):
    comp = Matched(str(write_selections(tmp_path / "ref", {0: {"A": 9, "B": 1}})))
    with pytest.raises(ValueError, match="no selection for round 1"):
        comp.compose(np.zeros(4), ["A", "A", "B", "B"], 2, np.random.default_rng(0), {}, {"A": 9, "B": 1}, round=0)


def test_reference_found_by_label_in_the_sweep_folder(tmp_path):
    write_selections(tmp_path / "mc_bald-strong-imbalanced-seed3-abcd1234", REFERENCE)
    write_selections(tmp_path / "mc_bald-strong-imbalanced-seed4-abcd1234", {0: {"A": 5, "B": 5}})
    comp = Matched("mc_bald", runs_dir=str(tmp_path), match="strong-imbalanced-seed3")
    assert comp.selections.parent.name == "mc_bald-strong-imbalanced-seed3-abcd1234"
    with pytest.raises(ValueError, match="found none"):
        Matched("tta", runs_dir=str(tmp_path), match="strong-imbalanced-seed3")
    write_selections(tmp_path / "mc_bald-strong-imbalanced-seed3-ffff0000", REFERENCE)
    with pytest.raises(ValueError, match="need exactly one"):
        Matched("mc_bald", runs_dir=str(tmp_path), match="strong-imbalanced-seed3")


def test_strategy_select_passes_the_round(tmp_path):
    comp = Matched(str(write_selections(tmp_path / "ref", REFERENCE)))
    strategy = MaskedEntropyStrategy(composition=comp)
    ctx = SelectionContext(round=1, labeled_counts={"A": 11, "B": 9})
    groups = ["A"] * 12 + ["B"] * 12
    picked = strategy.select(np.ones(24), groups, 10, np.random.default_rng(0), ctx)
    assert [groups[i] for i in picked] == ["B"] * 10


def test_label_names_the_reference():
    cfg = {"name": "masked_entropy", "composition": {"name": "matched", "reference": "mc_bald"}}
    assert strategy_label(cfg) == "masked_entropy.matched_mc_bald"
