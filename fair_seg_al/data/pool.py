"""The active-learning pool: which subjects are labeled, and since which round.

As in baal, the state is one integer per pool item, the round in which it was labeled
(``-1``: unlabeled; ``0``: the initial set), from which everything else derives, plus one
flag per item: ``held_out``, fixed when the item is labeled. A held-out image is labeled
(it measures group performance) but is never trained on, in any round. Items are
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
        self.held_out = np.zeros(len(self.ids), dtype=bool)

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
    def held_out_ids(self) -> list[str]:
        """Labeled images kept out of training for good (group-performance estimation)."""
        return [self.ids[i] for i in np.flatnonzero(self.labeled_mask & self.held_out)]

    @property
    def train_ids(self) -> list[str]:
        """Labeled images the network trains on: every labeled one that is not held out."""
        return [self.ids[i] for i in np.flatnonzero(self.labeled_mask & ~self.held_out)]

    @property
    def n_labeled(self) -> int:
        return int(self.labeled_mask.sum())

    def group_of(self, subject_id: str) -> str:
        return self.groups[self._index[subject_id]]

    def label(self, ids: Iterable[str], round: int, held_out: Iterable[str] = ()) -> None:
        """Move ``ids`` from the unlabeled to the labeled set (their masks are revealed).

        ``held_out`` (a subset of ``ids``) are labeled but never trained on; the flag is
        fixed here, once, and never changes afterwards.

        Raises:
            KeyError: an id is not in the pool (e.g. a test subject).
            ValueError: an id is already labeled or listed twice, or a held-out id is not in ``ids``.
        """
        ids, held_out = list(ids), set(held_out)
        if not held_out <= set(ids):
            raise ValueError(f"held-out ids {sorted(held_out - set(ids))} are not among the ids being labeled")
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
        self.held_out[idx] = [sid in held_out for sid in ids]

    def counts(self, order: Sequence[str], labeled: bool = True, held_out: bool | None = None) -> dict[str, int]:
        """Number of labeled (or unlabeled) subjects per group, in ``order``.

        ``held_out=True`` counts only held-out labeled images, ``False`` only training ones.
        """
        mask = self.labeled_mask if labeled else ~self.labeled_mask
        if held_out is not None:
            mask = mask & (self.held_out if held_out else ~self.held_out)
        groups = np.asarray(self.groups)[mask]
        return {g: int((groups == g).sum()) for g in order}

    def state_dict(self) -> dict:
        return {
            "ids": list(self.ids),
            "groups": list(self.groups),
            "labeled_round": self.labeled_round.tolist(),
            "held_out": self.held_out.tolist(),
        }

    def load_state_dict(self, state: Mapping) -> None:
        if list(state["ids"]) != self.ids:
            raise ValueError("saved pool state is for a different pool (subject ids differ)")
        self.labeled_round = np.asarray(state["labeled_round"], dtype=int)
        self.held_out = np.asarray(state.get("held_out", np.zeros(len(self.ids))), dtype=bool)


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


def initial_fractions(init: Mapping, group_sizes: Mapping[str, int]) -> dict[str, float]:
    """The initial set's group shares from the ``init`` config, for whatever groups a cohort has.

    - ``fractions: {F: 0.8, M: 0.1, X: 0.1}``: exactly these (every other group gets 0);
    - else ``majority_share: null`` (``init=balanced``): equal shares over the cohort's groups;
    - else (``init=imbalanced``): ``majority_share`` to the group named ``majority``, or by
      default the largest group (the first in order among equals), the rest shared equally.

    ``group_sizes`` is in the cohort's group order.

    Raises:
        ValueError: ``"<key>: <problem>"`` for unknown group names or shares that are not a distribution.
    """
    groups = list(group_sizes)
    fractions = init.get("fractions")
    if fractions:
        unknown = sorted(set(fractions) - set(groups))
        if unknown:
            raise ValueError(f"fractions: names groups {unknown} that the cohort does not have ({groups})")
        values = {g: float(fractions.get(g, 0.0)) for g in groups}
        if any(v < 0 for v in values.values()) or abs(sum(values.values()) - 1.0) > 1e-6:
            raise ValueError(f"fractions: must be >= 0 and sum to 1, got {dict(fractions)}")
        return values
    share = init.get("majority_share")
    if share is None:
        return {g: 1.0 / len(groups) for g in groups}
    share = float(share)
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"majority_share: must be in [0, 1], got {share}")
    majority = init.get("majority")
    if majority is None:
        majority = max(groups, key=lambda g: (group_sizes[g], -groups.index(g)))
    elif majority not in groups:
        raise ValueError(f"majority: {majority!r} is not a group of the cohort ({groups})")
    if len(groups) == 1:
        return {majority: 1.0}
    rest = (1.0 - share) / (len(groups) - 1)
    return {g: share if g == majority else rest for g in groups}
