"""Fixed, group-balanced test and validation sets; the rest is the AL pool.

The split depends only on the cohort and ``split_seed`` (not on the AL seed), so every
run of a sweep is evaluated on the same test set. It is saved as ``split.json``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fair_seg_al.data.cohort_folder import CohortFolder


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
