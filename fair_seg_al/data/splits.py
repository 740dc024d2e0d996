"""Fixed, group-balanced test and validation sets; the rest is the AL pool.

The split depends only on the cohort and ``split_seed`` (not on the AL seed), so every
run of a sweep is evaluated on the same test set. It is saved as ``split.json``.
"""

from __future__ import annotations

from collections.abc import Sequence

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
