"""Sensitive attributes -> the groups that fairness is measured over.

A cohort's subjects carry attributes (manifest columns, ``participants.tsv`` columns). The
groups are built from one or more of them:

- a categorical column gives its values as groups (``sex`` -> ``F``, ``M``, ``X``);
- several columns give their combinations, the intersectional groups (``sex`` x ``site`` ->
  ``F:site1``, ...), joined by ``separator``;
- a continuous column (``age``) is binned, by ``edges`` or by ``quantiles`` of the cohort,
  into groups named ``age<60``, ``age60-70``, ``age>=70``.

Values are kept as written: ``NA``, ``None`` and ``null`` are group names, not missing values
(CSV readers turn them into NaN by default). Only an empty cell is missing, and a subject with
a missing attribute is refused, naming the subject.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fair_seg_al.data.errors import GroupingError, listing


@dataclass(frozen=True)
class Binning:
    """How a continuous attribute becomes groups: fixed ``edges`` or ``quantiles`` bins."""

    edges: tuple[float, ...] | None = None
    quantiles: int | None = None

    def __post_init__(self) -> None:
        if (self.edges is None) == (self.quantiles is None):
            raise ValueError("a binning needs exactly one of edges (a list of cut points) or quantiles (a count)")
        if self.edges is not None and (len(self.edges) < 1 or list(self.edges) != sorted(set(self.edges))):
            raise ValueError(f"edges must be one or more increasing cut points, got {list(self.edges)}")
        if self.quantiles is not None and self.quantiles < 2:
            raise ValueError(f"quantiles must be >= 2, got {self.quantiles}")

    def cut_points(self, values: np.ndarray) -> list[float]:
        if self.edges is not None:
            return [float(e) for e in self.edges]
        qs = np.quantile(values, np.linspace(0, 1, self.quantiles + 1)[1:-1])
        return sorted({float(q) for q in qs})


@dataclass(frozen=True)
class Grouping:
    """Which attributes define the groups (see the module docstring)."""

    columns: tuple[str, ...] = ("group",)
    bins: Mapping[str, Binning] = field(default_factory=dict)
    separator: str = ":"

    @classmethod
    def from_config(cls, cfg: Mapping | None) -> Grouping:
        """From ``source.groups``: ``{columns: [sex, age], bins: {age: {edges: [60, 70]}}, separator: ":"}``."""
        if not cfg:
            return cls()
        columns = cfg.get("columns") or ["group"]
        columns = (columns,) if isinstance(columns, str) else tuple(str(c) for c in columns)
        bins = {}
        for col, b in (cfg.get("bins") or {}).items():
            edges = b.get("edges") if isinstance(b, Mapping) else None
            if not isinstance(b, Mapping) or (edges is not None and not isinstance(edges, Sequence)):
                raise ValueError(f"bins.{col} must be {{edges: [cut points]}} or {{quantiles: N}}, got {b!r}")
            quantiles = b.get("quantiles")
            bins[str(col)] = Binning(
                tuple(float(e) for e in edges) if edges is not None else None, int(quantiles) if quantiles else None
            )
        unknown = sorted(set(bins) - set(columns))
        if unknown:
            raise ValueError(f"bins given for {unknown}, which are not among the group columns {list(columns)}")
        return cls(columns, bins, str(cfg.get("separator", ":")))


def _bin_names(column: str, cuts: Sequence[float]) -> list[str]:
    names = [f"{column}<{cuts[0]:g}"]
    names += [f"{column}{lo:g}-{hi:g}" for lo, hi in zip(cuts[:-1], cuts[1:], strict=True)]
    return names + [f"{column}>={cuts[-1]:g}"]


def assign_groups(
    table: pd.DataFrame, grouping: Grouping, id_column: str = "subject_id"
) -> tuple[pd.Series, list[str]]:
    """Each subject's group, and the groups in a stable order.

    ``table`` is read with every cell a string (``dtype=str, keep_default_na=False``), so an
    empty string is the only missing value.

    Returns:
        (group per row, indexed like ``table``; the group names, sorted by attribute value
        (bins in numeric order), the intersection in column order).

    Raises:
        GroupingError: a group column is absent, or subjects have missing or non-numeric
        values (every such subject listed).
    """
    missing_cols = [c for c in grouping.columns if c not in table.columns]
    if missing_cols:
        raise GroupingError(
            f"group column(s) {missing_cols} not found; the table has {[c for c in table.columns if c != id_column]}"
        )
    problems: list[str] = []
    parts: list[pd.Series] = []
    orders: list[list[str]] = []
    for col in grouping.columns:
        raw = table[col].astype(str).str.strip()
        empty = raw == ""
        problems += [f"subject {sid}: no value for {col!r}" for sid in table.loc[empty, id_column]]
        if col in grouping.bins:
            numbers = pd.to_numeric(raw.where(~empty), errors="coerce")
            bad = numbers.isna() & ~empty
            problems += [
                f"subject {sid}: {col}={v!r} is not a number"
                for sid, v in zip(table.loc[bad, id_column], raw[bad], strict=True)
            ]
            ok = numbers.notna()
            if not ok.any():
                parts.append(raw)
                orders.append([])
                continue
            cuts = grouping.bins[col].cut_points(numbers[ok].to_numpy(float))
            names = _bin_names(col, cuts)
            index = np.searchsorted(np.asarray(cuts), numbers.fillna(-math.inf).to_numpy(float), side="right")
            parts.append(pd.Series([names[i] for i in index], index=table.index).where(ok, ""))
            orders.append(names)
        else:
            parts.append(raw)
            orders.append(sorted(set(raw[~empty])))
    if problems:
        raise GroupingError(listing("subjects' attributes cannot be grouped", problems))
    groups = parts[0] if len(parts) == 1 else pd.Series(
        [grouping.separator.join(vals) for vals in zip(*parts, strict=True)], index=table.index
    )  # fmt: skip
    present = set(groups)
    combos = [[]]
    for order in orders:
        combos = [c + [v] for c in combos for v in order]
    ordered = [name for name in (grouping.separator.join(c) for c in combos) if name in present]
    return groups, ordered
