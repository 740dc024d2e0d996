"""The active-learning pool: which subjects are labeled, and since which round.

As in baal, the state is one integer per pool item, the round in which it was labeled
(``-1``: unlabeled; ``0``: the initial set), from which everything else derives. Items are
addressed by subject id; ``pool index`` means the position in :attr:`ActivePool.ids`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from fair_seg_al.utils.quota import quota_split

UNLABELED = -1


class ActivePool:
    """Labeled/unlabeled split of a fixed list of subjects (the test set is never in it)."""

    def __init__(self, ids: Sequence[str], groups: Sequence[str]) -> None:
        if len(ids) != len(groups):
            raise ValueError(f"{len(ids)} ids but {len(groups)} groups")
        if len(set(ids)) != len(ids):
            raise ValueError("pool ids must be unique")
        self.ids = list(ids)
        self.groups = list(groups)
        self._index = {sid: i for i, sid in enumerate(self.ids)}
        self.labeled_round = np.full(len(self.ids), UNLABELED, dtype=int)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def labeled_mask(self) -> np.ndarray:
        return self.labeled_round != UNLABELED

    @property
    def labeled_ids(self) -> list[str]:
        return [self.ids[i] for i in np.flatnonzero(self.labeled_mask)]

    @property
    def unlabeled_ids(self) -> list[str]:
        return [self.ids[i] for i in np.flatnonzero(~self.labeled_mask)]

    @property
    def n_labeled(self) -> int:
        return int(self.labeled_mask.sum())

    def group_of(self, subject_id: str) -> str:
        return self.groups[self._index[subject_id]]

    def label(self, ids: Iterable[str], round: int) -> None:
        """Move ``ids`` from the unlabeled to the labeled set (their masks are revealed).

        Raises:
            KeyError: an id is not in the pool (e.g. a test subject).
            ValueError: an id is already labeled or listed twice.
        """
        ids = list(ids)
        if len(set(ids)) != len(ids):
            raise ValueError(f"ids listed twice: {sorted({i for i in ids if ids.count(i) > 1})}")
        idx = []
        for sid in ids:
            if sid not in self._index:
                raise KeyError(f"{sid!r} is not in the pool")
            i = self._index[sid]
            if self.labeled_round[i] != UNLABELED:
                raise ValueError(f"{sid!r} is already labeled (round {self.labeled_round[i]})")
            idx.append(i)
        self.labeled_round[idx] = round

    def counts(self, order: Sequence[str], labeled: bool = True) -> dict[str, int]:
        """Number of labeled (or unlabeled) subjects per group, in ``order``."""
        mask = self.labeled_mask if labeled else ~self.labeled_mask
        groups = np.asarray(self.groups)[mask]
        return {g: int((groups == g).sum()) for g in order}

    def state_dict(self) -> dict:
        return {"ids": list(self.ids), "groups": list(self.groups), "labeled_round": self.labeled_round.tolist()}

    def load_state_dict(self, state: Mapping) -> None:
        if list(state["ids"]) != self.ids:
            raise ValueError("saved pool state is for a different pool (subject ids differ)")
        self.labeled_round = np.asarray(state["labeled_round"], dtype=int)


def draw_initial_set(
    pool: ActivePool, size: int, fractions: Mapping[str, float], rng: np.random.Generator
) -> list[str]:
    """Draw the initial labeled set with the given group fractions (e.g. 90/10).

    Raises:
        ValueError: a group has fewer unlabeled subjects than its quota.
    """
    quotas = quota_split(size, fractions)
    picked: list[str] = []
    for group, n in quotas.items():
        members = [sid for sid, g in zip(pool.ids, pool.groups, strict=True) if g == group]
        if n > len(members):
            raise ValueError(f"initial set needs {n} subjects of group {group!r} but the pool has {len(members)}")
        picked += [members[i] for i in rng.permutation(len(members))[:n]]
    return picked
