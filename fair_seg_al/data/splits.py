"""Fixed, group-balanced test and validation sets; the rest is the AL pool.

The split depends only on the cohort and ``split_seed`` (not on the AL seed), so every
run of a sweep is evaluated on the same test set. It is saved as ``split.json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from fair_seg_al.data.cohort_folder import CohortFolder


def per_group_count(value: int | float, group_sizes: dict[str, int], key: str) -> int:
    """``data.test_per_group`` / ``val_per_group`` as a count per group.

    An integer is a count; a fraction in (0, 1) is that share of the *smallest* group, taken
    from every group alike, so the set stays group-balanced (at least 1 for a positive share).

    Raises:
        ValueError: naming ``key``, for a negative value or a fraction outside (0, 1).
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{key} must be a count >= 0 or a fraction in (0, 1), got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        if not 0 < value < 1:
            raise ValueError(f"{key} must be a count >= 0 or a fraction in (0, 1), got {value!r}")
        return max(1, round(value * min(group_sizes.values())))
    return int(value)


def pool_sizes(data: Mapping, group_sizes: dict[str, int], roster: CohortFolder | None = None) -> dict[str, int]:
    """Subjects per group left for the AL pool once ``data.test_per_group`` and ``val_per_group`` are taken.

    With ``data.hold_out`` the split itself is made on ``roster`` (the source's subjects and
    attributes), since whole held-out units leave more than the test set out of the pool.

    >>> pool_sizes({"test_per_group": 2, "val_per_group": 0.25}, {"A": 10, "B": 4})
    {'A': 7, 'B': 1}

    Raises:
        ConfigError: naming the key, for a bad size or a group left with no pool.
    """
    from fair_seg_al.config import ConfigError, config_source, require

    try:
        test = per_group_count(data.get("test_per_group", 20), group_sizes, "data.test_per_group")
        val = per_group_count(data.get("val_per_group", 5), group_sizes, "data.val_per_group")
    except ValueError as err:
        raise ConfigError(f"{err} (set in {config_source('data')})") from None
    require(test >= 1, "data.test_per_group", f"must give at least one test subject per group, got {test}", "data")
    for g, n in group_sizes.items():
        require(
            n - test - val >= 1,
            "data.test_per_group",
            f"group {g!r} has {n} subjects; test {test} + validation {val} per group leave none for the pool",
            group="data",
        )
    hold_out = data.get("hold_out")
    if hold_out and roster is not None:
        try:
            split = make_split(roster, test, val, int(data.get("split_seed", 0)), str(hold_out))
        except ValueError as err:
            raise ConfigError(f"data.hold_out: {err} (set in {config_source('data')})") from None
        return {g: sum(roster.group_of(s) == g for s in split["pool"]) for g in group_sizes}
    return {g: n - test - val for g, n in group_sizes.items()}


def make_split(
    cohort: CohortFolder, test_per_group: int, val_per_group: int, seed: int, hold_out: str | None = None
) -> dict[str, list[str]]:
    """``{"test": ids, "val": ids, "pool": ids}``, test and val with equal counts per group.

    With ``hold_out`` (a manifest column, e.g. ``anatomy``), no value of that column is on both
    sides: the test set is drawn from whole held-out units (:func:`held_out_units`) and
    validation and pool from the others; the held-out units' subjects that the test set does
    not take are listed under ``"unused"`` and never trained on.

    Raises:
        ValueError: a group has fewer subjects than test + validation need (plus one for the
            pool), or ``hold_out`` names no column of the manifest.
    """
    rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(7,)))
    split: dict[str, list[str]] = {"test": [], "val": [], "pool": []}
    units = _units(cohort, hold_out) if hold_out else None
    test_units = held_out_units(cohort, units, test_per_group, seed) if units else set()
    if units:
        split["unused"] = []
    for group in cohort.groups:
        members = cohort.subject_ids(group)
        need = test_per_group + val_per_group
        if need >= len(members):
            raise ValueError(
                f"group {group!r} has {len(members)} subjects; test ({test_per_group}) + validation "
                f"({val_per_group}) per group leave none for the pool"
            )
        order = [members[i] for i in rng.permutation(len(members))]
        if units is None:
            split["test"] += order[:test_per_group]
            split["val"] += order[test_per_group:need]
            split["pool"] += order[need:]
            continue
        held = [s for s in order if units[s] in test_units]
        rest = [s for s in order if units[s] not in test_units]
        if len(rest) <= val_per_group:
            raise ValueError(
                f"group {group!r}: holding out {hold_out} {sorted(test_units)} for the test set leaves "
                f"{len(rest)} subjects, too few for validation ({val_per_group}) and a pool"
            )
        split["test"] += held[:test_per_group]
        split["unused"] += held[test_per_group:]
        split["val"] += rest[:val_per_group]
        split["pool"] += rest[val_per_group:]
    keep = {sid: i for i, sid in enumerate(cohort.subject_ids())}  # manifest order, for readability
    return {k: sorted(v, key=keep.__getitem__) for k, v in split.items()}


def _units(cohort: CohortFolder, column: str) -> dict[str, str]:
    """Each subject's value of manifest column ``column``."""
    missing = [r.subject_id for r in cohort.records if not r.extra.get(column)]
    if missing:
        known = sorted(set(cohort.records[0].extra))
        raise ValueError(
            f"data.hold_out={column!r}: subject {missing[0]} (and {len(missing) - 1} more) has no {column!r}; "
            f"the manifest's attribute columns are {known}"
        )
    return {r.subject_id: str(r.extra[column]) for r in cohort.records}


def held_out_units(cohort: CohortFolder, units: dict[str, str], test_per_group: int, seed: int) -> set[str]:
    """The fewest units, taken in a seeded order, whose subjects fill ``test_per_group`` of every
    group (GroupShuffleSplit-like: whole units go to the test side).

    Raises:
        ValueError: no such set leaves a unit for training.
    """
    names = sorted(set(units.values()))
    rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(8,)))
    chosen: set[str] = set()
    for unit in (names[i] for i in rng.permutation(len(names))):
        if all(sum(units[s] in chosen for s in cohort.subject_ids(g)) >= test_per_group for g in cohort.groups):
            break
        chosen.add(unit)
    short = [g for g in cohort.groups if sum(units[s] in chosen for s in cohort.subject_ids(g)) < test_per_group]
    if short or len(chosen) == len(names):
        raise ValueError(
            f"holding out whole units ({len(names)} of them) cannot give {test_per_group} test subjects "
            f"per group and leave a unit for training; lower data.test_per_group"
        )
    return chosen


def check_disjoint(split: dict[str, Sequence[str]]) -> None:
    seen: dict[str, str] = {}
    for part, ids in split.items():
        for sid in ids:
            if sid in seen:
                raise ValueError(f"subject {sid} is in both {seen[sid]!r} and {part!r}")
            seen[sid] = part
