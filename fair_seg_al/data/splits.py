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


def pool_sizes(data: Mapping, group_sizes: dict[str, int]) -> dict[str, int]:
    """Subjects per group left for the AL pool once ``data.test_per_group`` and ``val_per_group`` are taken.

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
    return {g: n - test - val for g, n in group_sizes.items()}


def make_split(cohort: CohortFolder, test_per_group: int, val_per_group: int, seed: int) -> dict[str, list[str]]:
    """``{"test": ids, "val": ids, "pool": ids}``, test and val with equal counts per group.

    Raises:
        ValueError: a group has fewer subjects than test + validation need (plus one for the pool).
    """
    rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(7,)))
    split: dict[str, list[str]] = {"test": [], "val": [], "pool": []}
    for group in cohort.groups:
        members = cohort.subject_ids(group)
        need = test_per_group + val_per_group
        if need >= len(members):
            raise ValueError(
                f"group {group!r} has {len(members)} subjects; test ({test_per_group}) + validation "
                f"({val_per_group}) per group leave none for the pool"
            )
        order = [members[i] for i in rng.permutation(len(members))]
        split["test"] += order[:test_per_group]
        split["val"] += order[test_per_group:need]
        split["pool"] += order[need:]
    keep = {sid: i for i, sid in enumerate(cohort.subject_ids())}  # manifest order, for readability
    return {k: sorted(v, key=keep.__getitem__) for k, v in split.items()}


def check_disjoint(split: dict[str, Sequence[str]]) -> None:
    seen: dict[str, str] = {}
    for part, ids in split.items():
        for sid in ids:
            if sid in seen:
                raise ValueError(f"subject {sid} is in both {seen[sid]!r} and {part!r}")
            seen[sid] = part
