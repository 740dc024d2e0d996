"""Batch composition: how a round's batch is drawn from scored, grouped pool images.

A composition rule is independent of the score: any strategy's per-image scores (weighted
or not) and the groups' weights go in, pool indices come out. Config group
``strategy/composition``.

- :class:`TopK` (the paper's): the ``budget`` highest scores. With group weights folded
  into the scores, a small change of a weight ratio can move the whole batch from one
  group to the other (issue #7 measured it: w_B/w_A 0.9 gave 0.2 B images of 10, 1.1-1.5
  gave 8.6).
- :class:`Quota`: the batch's group counts follow the weights (largest remainder), top
  scores within each group. A 10 % weight error moves about 10 % of the batch, not all of it.
- :class:`Power`: stochastic power / soft-rank sampling (Kirsch et al. 2022; baal's
  ``PowerSampling`` and ``RankBasedSampling``): draws without replacement with
  probability proportional to ``score ** (1 / temperature)`` or ``rank ** (-1 / temperature)``.
- :class:`Matched`: group counts copied round by round from a reference run's
  ``selections.csv``; top scores within a group. It holds the group mix fixed, so a score
  compared with its matched twin differs from it only in *which* images of a group it picks.
- :class:`Shortfall`: group counts in proportion to each group's shortfall against equal
  labeled counts; random within a group. With random scores it is the composition-only
  control: a weighted rule that does no better than it gains nothing from its estimates.
- :class:`Stratified`: the two choices made explicit, *how many per group* (``equal``,
  ``shortfall``, ``weights``) and *how to pick within a group* (``top``, ``power`` with a
  temperature schedule over rounds, ``random``). ``Quota`` is (weights, top), ``Shortfall``
  (shortfall, top), stratified random (equal, random), the composition control (shortfall,
  random). (equal, power) with a decaying temperature is the group analogue of ClaSP PE
  (Lüth, Traub et al., TMLR 2026: class-stratified querying plus scheduled power noising of
  predictive entropy): diversity in early rounds, exploitation in late ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from fair_seg_al.utils.quota import quota_split

POWER_KINDS = ("power", "softrank")
GROUP_COUNTS = ("equal", "shortfall", "weights")
WITHIN_GROUP = ("top", "power", "random")


def ranked(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices by descending score, ties in a seeded random order."""
    scores = np.asarray(scores, dtype=float)
    return np.lexsort((rng.random(len(scores)), -scores))


def split_with_refill(
    budget: int, shares: Mapping[str, float], available: Mapping[str, int], rng: np.random.Generator
) -> dict[str, int]:
    """Integer group counts summing to ``min(budget, total available)``.

    Counts follow ``shares`` (largest remainder, ties in random order). A group asked for
    more than it has gives the rest back; the rest is split again among the groups that
    still have images, by their shares, until the batch is full or the pool is empty.
    """
    counts = dict.fromkeys(available, 0)
    left = min(budget, sum(available.values()))
    open_groups = [g for g in available if available[g] > 0]
    while left > 0 and open_groups:
        split = quota_split(left, {g: max(0.0, float(shares.get(g, 0.0))) for g in open_groups}, rng)
        for g, n in split.items():
            take = min(n, available[g] - counts[g])
            counts[g] += take
            left -= take
        open_groups = [g for g in open_groups if counts[g] < available[g]]
    return counts


class Composition:
    """Base class: pick ``budget`` indices from ``scores`` (higher is better)."""

    name = "base"

    def compose(
        self,
        scores: np.ndarray,
        groups: Sequence[str],
        budget: int,
        rng: np.random.Generator,
        group_weights: Mapping[str, float] | None = None,
        labeled_counts: Mapping[str, int] | None = None,
        round: int | None = None,
    ) -> np.ndarray:
        """Indices into ``scores`` of the batch: ``group_weights`` from a group-aware strategy,
        ``labeled_counts`` per group before this batch, ``round`` the AL round selecting."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


class TopK(Composition):
    """The ``budget`` highest scores (ties in seeded random order)."""

    name = "topk"

    def compose(self, scores, groups, budget, rng, group_weights=None, labeled_counts=None, round=None):
        return ranked(scores, rng)[:budget]


def _pick_within_groups(
    scores: np.ndarray, groups: np.ndarray, counts: Mapping[str, int], rng: np.random.Generator
) -> np.ndarray:
    """The ``counts[g]`` best-scored images of each group, in descending score overall."""
    order = ranked(scores, rng)
    taken = dict.fromkeys(counts, 0)
    picked = []
    for i in order:
        g = groups[i]
        if taken.get(g, 0) < counts.get(g, 0):
            picked.append(i)
            taken[g] += 1
    return np.asarray(picked, dtype=int)


class TemperatureSchedule:
    """Power-sampling temperature of each selecting round: geometric from ``start`` (the first
    selection, round 0) to ``end`` (the last, round ``rounds - 1``); ``end=None`` keeps ``start``.

    ``p ~ score^(1/T)``: T = 1 samples in proportion to the score, T -> 0 approaches top-k, a
    large T approaches uniform. A decaying T spends early batches on diversity, late ones on the
    most uncertain images (ClaSP PE's "scheduled power"; its beta is 1/T).
    """

    def __init__(self, start: float = 1.0, end: float | None = None, rounds: int | None = None) -> None:
        if start <= 0 or (end is not None and end <= 0):
            raise ValueError(f"temperatures must be > 0, got start={start}, end={end}")
        if end is not None and (rounds is None or rounds < 1):
            raise ValueError(f"a schedule from start to end needs rounds >= 1, got {rounds}")
        self.start, self.end, self.rounds = float(start), (None if end is None else float(end)), rounds

    def __call__(self, round: int | None) -> float:
        if self.end is None or self.rounds == 1:
            return self.start
        frac = min(max(int(round or 0), 0), self.rounds - 1) / (self.rounds - 1)
        return self.start * (self.end / self.start) ** frac

    def __repr__(self) -> str:
        return f"TemperatureSchedule(start={self.start}, end={self.end}, rounds={self.rounds})"


class Stratified(Composition):
    """How many per group, then how to pick within each group.

    Args:
        counts: ``equal`` shares; ``shortfall`` against equal labeled counts (after this
            batch); ``weights``: the strategy's group weights (equal without weights). A group
            that runs out gives its rest to the others (:func:`split_with_refill`).
        within: ``top`` scores; ``power``: sample without replacement, ``p ~ score^(1/T)``
            with ``T`` from ``temperature`` in the selecting round; ``random``.
        temperature: a :class:`TemperatureSchedule` or its ``start``/``end``/``rounds`` as a
            mapping (``within=power`` only).
        kind: ``power`` (``p ~ score^(1/T)``, depends on the scores' spread) or ``softrank``
            (``p ~ rank^(-1/T)`` within the group, rank 1 = highest: scale-free).
    """

    name = "stratified"

    def __init__(
        self,
        counts: str = "equal",
        within: str = "top",
        temperature: TemperatureSchedule | Mapping | None = None,
        kind: str = "power",
    ) -> None:
        if kind not in POWER_KINDS:
            raise ValueError(f"kind must be one of {POWER_KINDS}, got {kind!r}")
        if counts not in GROUP_COUNTS:
            raise ValueError(f"counts must be one of {GROUP_COUNTS}, got {counts!r}")
        if within not in WITHIN_GROUP:
            raise ValueError(f"within must be one of {WITHIN_GROUP}, got {within!r}")
        if temperature is not None and not isinstance(temperature, TemperatureSchedule):
            temperature = TemperatureSchedule(**dict(temperature))
        self.counts, self.within, self.kind = counts, within, kind
        self.temperature = temperature if temperature is not None else TemperatureSchedule()

    def group_counts(self, groups: np.ndarray, budget: int, rng, group_weights=None, labeled_counts=None) -> dict:
        """Integer images per group for this batch."""
        names = sorted(set(groups.tolist()) | (set(labeled_counts or {}) if self.counts == "shortfall" else set()))
        if self.counts == "shortfall":
            have = {g: int((labeled_counts or {}).get(g, 0)) for g in names}
            target = (sum(have.values()) + budget) / len(names)
            shares = {g: max(0.0, target - have[g]) for g in names}
        elif self.counts == "weights":
            shares = {g: (group_weights or {}).get(g, 1.0) for g in names}
        else:
            shares = dict.fromkeys(names, 1.0)
        available = {g: int((groups == g).sum()) for g in names}
        return split_with_refill(budget, shares, available, rng)

    def compose(self, scores, groups, budget, rng, group_weights=None, labeled_counts=None, round=None):
        groups = np.asarray(groups)
        counts = self.group_counts(groups, budget, rng, group_weights, labeled_counts)
        if self.within == "top":
            return _pick_within_groups(scores, groups, counts, rng)
        if self.within == "random":
            keys = rng.random(len(groups))
        else:  # Gumbel-top-k within each group: successive sampling without replacement
            power = Power(self.temperature(round), self.kind)
            logp = np.empty(len(groups))
            for g in counts:  # softrank ranks within the group
                members = groups == g
                logp[members] = power.log_probabilities(np.asarray(scores, dtype=float)[members])
            keys = logp + rng.gumbel(size=len(groups))
        return _pick_within_groups(keys, groups, counts, rng)


class Quota(Stratified):
    """Group counts follow the group weights; the top-scored images within each group.

    Without group weights (a strategy that has none) every group gets an equal share.
    """

    name = "quota"

    def __init__(self) -> None:
        super().__init__(counts="weights", within="top")


class Power(Composition):
    """Stochastic batch acquisition: sample without replacement, ``p_i ~ s_i^(1/T)`` (power)
    or ``p_i ~ rank_i^(-1/T)`` (softrank, rank 1 = best).

    Sampling uses the Gumbel-top-k trick (the top ``budget`` of ``log p_i + Gumbel``), which
    draws exactly as successive sampling without replacement does. Images with ``p_i = 0``
    come last, in random order. ``temperature -> 0`` approaches top-k.
    """

    name = "power"

    def __init__(self, temperature: float = 1.0, kind: str = "power") -> None:
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if kind not in POWER_KINDS:
            raise ValueError(f"kind must be one of {POWER_KINDS}, got {kind!r}")
        self.temperature, self.kind = temperature, kind

    def log_probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Unnormalised ``log p_i`` (``-inf`` where ``p_i = 0``)."""
        scores = np.asarray(scores, dtype=float)
        if self.kind == "softrank":
            return -np.log(rankdata(-scores, method="ordinal")) / self.temperature
        with np.errstate(divide="ignore"):
            return np.where(scores > 0, np.log(np.clip(scores, 1e-300, None)) / self.temperature, -np.inf)

    def compose(self, scores, groups, budget, rng, group_weights=None, labeled_counts=None, round=None):
        logp = self.log_probabilities(scores)
        keys = logp + rng.gumbel(size=len(logp))
        return np.lexsort((rng.random(len(keys)), -keys))[:budget]


class Shortfall(Stratified):
    """Group counts in proportion to each group's shortfall against equal labeled counts.

    After this batch, equal counts would be ``(n_labeled + budget) / G`` per group; group
    ``g`` is short by ``max(0, that - n_labeled_g)``. No group short: equal shares. Within a
    group, the top scores (random scores make it the composition-only control).
    """

    name = "shortfall"

    def __init__(self) -> None:
        super().__init__(counts="shortfall", within="top")


class Matched(Composition):
    """Each round's group counts copied from a reference run's ``selections.csv``; the
    top-scored images within each group.

    A composition-matched control: masked entropy matched to BALD's counts differs from BALD
    only in the uncertainty score, and from plain masked entropy only in the group mix. The
    reference must share this run's seed and initial set (checked every round: the labeled
    counts before a batch must equal the reference's).

    Args:
        reference: the reference run's folder, or its ``selections.csv``, or a strategy label
            (e.g. ``mc_bald``) whose run is found in ``runs_dir`` by ``match``.
        runs_dir: where to look for a reference given by label (a sweep folder).
        match: the rest of the reference run's folder name after ``<label>-`` (the data, init
            and seed, e.g. ``strong-imbalanced-seed3``); the experiment key after it may differ.

    Raises:
        ValueError: no reference, several, or one without a finished selection.
    """

    name = "matched"

    def __init__(self, reference: str, runs_dir: str | None = None, match: str | None = None) -> None:
        self.reference = str(reference)
        self.selections = self.find(self.reference, runs_dir, match)
        table = pd.read_csv(self.selections, dtype={"group": str})
        missing = {"round", "group"} - set(table.columns)
        if missing:
            raise ValueError(f"reference selections {self.selections} lack column(s) {sorted(missing)}")
        self.counts = {
            int(r): d["group"].value_counts().to_dict() for r, d in table.groupby("round")
        }  # round labeled in -> {group: n}

    @staticmethod
    def find(reference: str, runs_dir: str | None, match: str | None) -> Path:
        path = Path(reference).expanduser()
        if path.is_file():
            return path
        if path.is_dir():
            found = path / "selections.csv"
            if not found.is_file():
                raise ValueError(f"reference run {path} has no selections.csv (not started or not a run folder)")
            return found
        if runs_dir is None or match is None:
            raise ValueError(f"reference {reference!r} is no file or folder, and no runs_dir/match to find it by label")
        runs = sorted(p for p in Path(runs_dir).glob(f"{reference}-{match}-*") if (p / "selections.csv").is_file())
        if len(runs) != 1:
            names = ", ".join(p.name for p in runs) or "none"
            raise ValueError(
                f"reference {reference!r}: need exactly one run {reference}-{match}-* with selections.csv in "
                f"{runs_dir}, found {names} (run the reference strategy first, in the same sweep)"
            )
        return runs[0] / "selections.csv"

    def reference_counts(self, labeled_in: int) -> dict[str, int]:
        if labeled_in not in self.counts:
            raise ValueError(
                f"reference {self.selections} has no selection for round {labeled_in} (it is unfinished "
                f"or ran fewer rounds; it has rounds {sorted(self.counts)})"
            )
        return dict(self.counts[labeled_in])

    def compose(self, scores, groups, budget, rng, group_weights=None, labeled_counts=None, round=None):
        if round is None:
            raise ValueError("the matched composition needs the round that selects")
        have = {g: int(n) for g, n in (labeled_counts or {}).items() if n}
        before: dict[str, int] = {}
        for r in range(round + 1):
            for g, n in self.reference_counts(r).items():
                before[g] = before.get(g, 0) + int(n)
        if have != before:
            raise ValueError(
                f"round {round}: this run has labeled {have} but the reference {self.selections} had {before}: "
                "not the same seed and initial set"
            )
        groups = np.asarray(groups)
        counts = self.reference_counts(round + 1)
        available = {g: int((groups == g).sum()) for g in set(groups.tolist()) | set(counts)}
        short = {g: n for g, n in counts.items() if n > available.get(g, 0)}
        if short or sum(counts.values()) != min(budget, len(groups)):
            raise ValueError(
                f"round {round}: the reference's batch {counts} does not fit this pool ({available}, budget {budget})"
            )
        return _pick_within_groups(scores, groups, counts, rng)
