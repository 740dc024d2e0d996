"""Segmentation and fairness metrics: pure functions on per-case values, and the metric table.

Group performance follows FairSeg (Tian et al., ICLR 2024): ``perf_g`` is the mean of the
per-image metric over the images of group ``g`` and ``overall`` the mean over all images.

The metric table (:data:`METRICS`: name -> :class:`Metric`, its per-image function and how it is
summarised) is what evaluation, recording, the comparisons and the report read. Every metric's
summary columns follow one pattern (:func:`summary_columns`): ``m``, ``m_<group>``,
``m_disparity``, and for a score in [0, 1] also ``m_disparity_sum``, ``es_m`` and ``m_ser``.
A new metric is a :class:`Metric` registered with :func:`register_metric` and its name in the
``metrics.names`` config.

>>> d = {"A": 0.8, "B": 0.6}
>>> round(disparity_sum(d, overall=0.7), 6), round(equity_scaled(0.7, d, alpha=1.0), 6)
(0.2, 0.583333)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch


def argmax_is(scores: torch.Tensor, index: int = 1) -> torch.Tensor:
    """``scores.argmax(dim=1) == index`` for ``(B, C, ...)`` scores, ties going to the lower class.

    Elementwise maxima over the few classes: on CPU this is ~100x faster than ``argmax``
    over the channel dimension, which dominated pool scoring.
    """
    target = scores[:, index]
    wins = torch.ones_like(target, dtype=torch.bool)
    for c in range(scores.shape[1]):
        if c < index:
            wins &= target > scores[:, c]
        elif c > index:
            wins &= target >= scores[:, c]
    return wins


def dice_per_case(pred: torch.Tensor, target: torch.Tensor, empty: float = 1.0) -> torch.Tensor:
    """Dice of binary masks, one value per case.

    Args:
        pred: ``(B, *spatial)`` binary prediction (bool or 0/1).
        target: ``(B, *spatial)`` binary ground truth.
        empty: the value when both masks are empty.

    Returns:
        ``(B,)`` float tensor, ``2 |P & T| / (|P| + |T|)``.
    """
    p = pred.reshape(pred.shape[0], -1).float()
    t = target.reshape(target.shape[0], -1).float()
    inter = (p * t).sum(dim=1)
    denom = p.sum(dim=1) + t.sum(dim=1)
    return torch.where(denom > 0, 2 * inter / denom.clamp_min(1e-12), torch.full_like(denom, empty))


def surface_distances(pred: np.ndarray, target: np.ndarray, spacing: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Distances in mm from each boundary voxel of ``pred`` to ``target``'s boundary, and back.

    As MONAI's ``get_edge_surface_distance`` (symmetric, Euclidean): a mask's boundary is the
    mask minus its erosion (6-connected); distances come from the Euclidean distance transform
    with the voxel ``spacing``. Both masks must be non-empty. Cropped to the masks' box plus
    one voxel, which leaves every distance unchanged and saves most of the work.
    """
    from scipy import ndimage

    box = ndimage.find_objects((pred | target).astype(np.uint8))[0]
    box = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in box)
    pred, target = pred[box], target[box]
    edge_p = pred ^ ndimage.binary_erosion(pred)
    edge_t = target ^ ndimage.binary_erosion(target)
    to_t = ndimage.distance_transform_edt(~edge_t, sampling=spacing)
    to_p = ndimage.distance_transform_edt(~edge_p, sampling=spacing)
    return to_t[edge_p], to_p[edge_t]


def surface_metrics_per_case(
    pred: torch.Tensor, target: torch.Tensor, spacing: Sequence[float], tolerance_mm: float
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised surface Dice (NSD) and the 95th-percentile Hausdorff distance of binary masks.

    NSD (Nikolov et al. 2021) is the share of both boundaries that lies within ``tolerance_mm``
    of the other; unlike Dice it does not grow with the structure's volume, so a small
    structure is not penalised for its size alone. HD95 (mm) is the larger of the two directed
    95th percentiles. Both equal MONAI's ``compute_surface_dice`` and
    ``compute_hausdorff_distance(percentile=95)`` (tested); one pair of distance transforms
    serves both, about 10x faster than calling the two (docs/benchmarks.md).

    Empty masks, where MONAI returns NaN: both empty, NSD 1 and HD95 0 (nothing to find,
    nothing found); exactly one empty, NSD 0 and HD95 the volume's diagonal in mm (the
    largest distance the grid allows), so a group mean is never undefined.

    Args:
        pred: ``(B, X, Y, Z)`` binary prediction.
        target: ``(B, X, Y, Z)`` binary ground truth.
        spacing: voxel size in mm per axis.
        tolerance_mm: the NSD tolerance.

    Returns:
        ``(nsd, hd95)``, two ``(B,)`` float arrays.

    >>> t = torch.zeros(1, 8, 8, 8, dtype=torch.bool); t[0, 2:6, 2:6, 2:6] = True
    >>> p = torch.roll(t, 1, dims=1)  # shifted by one voxel of 2 mm
    >>> nsd, hd = surface_metrics_per_case(p, t, (2.0, 2.0, 2.0), tolerance_mm=2.0)
    >>> float(nsd[0]), float(hd[0])
    (1.0, 2.0)
    """
    pred = pred.reshape(target.shape).bool().cpu().numpy()
    target = target.bool().cpu().numpy()
    spacing = tuple(float(s) for s in spacing)
    diagonal = float(np.linalg.norm(np.asarray(target.shape[1:], float) * np.asarray(spacing)))
    nsd, hd95 = np.empty(len(target)), np.empty(len(target))
    for i, (p, t) in enumerate(zip(pred, target, strict=True)):
        if not p.any() or not t.any():
            nsd[i], hd95[i] = (1.0, 0.0) if p.any() == t.any() else (0.0, diagonal)
            continue
        d_pt, d_tp = surface_distances(p, t, spacing)
        nsd[i] = ((d_pt <= tolerance_mm).sum() + (d_tp <= tolerance_mm).sum()) / (len(d_pt) + len(d_tp))
        hd95[i] = max(np.percentile(d_pt, 95), np.percentile(d_tp, 95))
    return nsd, hd95


def group_means(values: Sequence[float], groups: Sequence[str], order: Sequence[str] | None = None) -> dict[str, float]:
    """Mean of ``values`` per group (in ``order``, default sorted; NaN for an empty group)."""
    values = np.asarray(values, dtype=float)
    groups = np.asarray(groups)
    order = list(order) if order is not None else sorted(set(groups.tolist()))
    return {g: float(values[groups == g].mean()) if (groups == g).any() else float("nan") for g in order}


def disparity_sum(by_group: Mapping[str, float], overall: float) -> float:
    """``sum_g |perf_g - overall|``, the denominator term of the equity-scaled score."""
    return float(sum(abs(v - overall) for v in by_group.values()))


def disparity(by_group: Mapping[str, float]) -> float:
    """``max_g perf_g - min_g perf_g`` (``|perf_A - perf_B|`` for two groups)."""
    vals = list(by_group.values())
    return float(max(vals) - min(vals))


def equity_scaled(overall: float, by_group: Mapping[str, float], alpha: float = 1.0) -> float:
    """Equity-scaled score ``overall / (1 + alpha * sum_g |perf_g - overall|)`` (FairSeg)."""
    return float(overall / (1.0 + alpha * disparity_sum(by_group, overall)))


def skewed_error_ratio(by_group: Mapping[str, float]) -> float:
    """``max_g (1 - perf_g) / min_g (1 - perf_g)`` (Puyol-Antón et al. 2021); inf if a group is perfect."""
    errors = [1.0 - v for v in by_group.values()]
    low = min(errors)
    return float("inf") if low <= 0 else float(max(errors) / low)


@dataclass
class Cases:
    """A batch of binary predictions and truths, ``(B, X, Y, Z)``, with what several per-image
    metrics share (the boundary distances behind NSD and HD95, computed once)."""

    pred: torch.Tensor
    target: torch.Tensor
    spacing: Sequence[float] | None = None  #: mm per axis (None: no boundary metric)
    tolerance_mm: float | None = None  #: NSD tolerance (None: one voxel, the largest side)

    @cached_property
    def surface(self) -> tuple[np.ndarray, np.ndarray]:
        """``(nsd, hd95)`` per case (:func:`surface_metrics_per_case`)."""
        if self.spacing is None:
            raise ValueError("a boundary metric needs the voxel spacing")
        tolerance = float(max(self.spacing)) if self.tolerance_mm is None else float(self.tolerance_mm)
        return surface_metrics_per_case(self.pred, self.target, self.spacing, tolerance)


@dataclass(frozen=True)
class Metric:
    """One per-image metric of the metric table.

    Args:
        name: its column name (and the prefix of its summary columns).
        per_case: ``Cases -> (B,)`` values.
        higher_is_better: the direction of a better segmentation (for whoever reads the table;
            the built-in comparisons name their own directions).
        surface: needs the voxel spacing (off with ``metrics.surface=false``).
        equity: a score in [0, 1], better high: also the equity-scaled score and SER.
    """

    name: str
    per_case: Callable[[Cases], np.ndarray]
    higher_is_better: bool = True
    surface: bool = False
    equity: bool = True


#: the metric table: name -> :class:`Metric` (in the order the columns are written)
METRICS: dict[str, Metric] = {}


def register_metric(metric: Metric) -> Metric:
    """Add ``metric`` to the table (its name in ``metrics.names`` then computes it)."""
    METRICS[metric.name] = metric
    return metric


register_metric(Metric("dice", lambda c: dice_per_case(c.pred, c.target).cpu().numpy()))
register_metric(Metric("nsd", lambda c: c.surface[0], surface=True))
register_metric(Metric("hd95", lambda c: c.surface[1], higher_is_better=False, surface=True, equity=False))

#: ``rounds.csv`` columns written before every metric took one pattern -> their names now
#: (archived runs are read with the new names: :mod:`fair_seg_al.analysis.runs`)
RENAMED_COLUMNS = {"disparity": "dice_disparity", "disparity_sum": "dice_disparity_sum", "ser": "dice_ser"}


def summary_columns(metric: Metric | str, groups: Sequence[str]) -> list[str]:
    """The summary columns of ``metric`` over ``groups``, in the order they are written.

    >>> summary_columns("dice", ["A", "B"])
    ['dice', 'dice_A', 'dice_B', 'dice_disparity', 'dice_disparity_sum', 'es_dice', 'dice_ser']
    >>> summary_columns("hd95", ["A", "B"])
    ['hd95', 'hd95_A', 'hd95_B', 'hd95_disparity']
    """
    m = METRICS[metric] if isinstance(metric, str) else metric
    columns = [m.name, *(f"{m.name}_{g}" for g in groups), f"{m.name}_disparity"]
    if m.equity:
        columns += [f"{m.name}_disparity_sum", f"es_{m.name}", f"{m.name}_ser"]
    return columns


#: the suffixes of the summary columns that are not a group's (``m_disparity``, ...)
SUMMARY_SUFFIXES = ("disparity", "disparity_sum", "ser")


def groups_in_columns(columns, metric: str = "dice") -> list[str]:
    """The groups whose ``<metric>_<group>`` column is among ``columns`` (in their order): those of
    the ``n_labeled_<group>`` columns where a run's table has them (so a metric named, say,
    ``dice_soft`` is no group), else every ``<metric>_`` column but the summary suffixes.

    >>> groups_in_columns(["n_labeled_A", "n_labeled_B", "dice", "dice_A", "dice_B", "dice_disparity", "dice_soft"])
    ['A', 'B']
    >>> groups_in_columns(["dice", "dice_A", "dice_B", "dice_disparity", "es_dice", "dice_ser"])
    ['A', 'B']
    """
    columns = list(columns)
    prefix = f"{metric}_"
    labeled = [c[len("n_labeled_") :] for c in columns if c.startswith("n_labeled_")]
    if labeled:
        return [g for g in labeled if prefix + g in columns]
    return [c[len(prefix) :] for c in columns if c.startswith(prefix) and c[len(prefix) :] not in SUMMARY_SUFFIXES]


def summarise(
    metric: Metric | str, values: Sequence[float], groups: Sequence[str], order: Sequence[str], alpha: float = 1.0
) -> dict[str, float]:
    """The summary columns of per-case ``values``: overall and per-group mean, the gap between
    groups (max - min) and, for a score in [0, 1], the disparity sum, the equity-scaled score
    (``alpha``) and the skewed error ratio."""
    m = METRICS[metric] if isinstance(metric, str) else metric
    overall = float(np.mean(values))
    by_group = group_means(values, groups, order)
    out = {m.name: overall, **{f"{m.name}_{g}": v for g, v in by_group.items()}}
    out[f"{m.name}_disparity"] = disparity(by_group)
    if m.equity:
        out[f"{m.name}_disparity_sum"] = disparity_sum(by_group, overall)
        out[f"es_{m.name}"] = equity_scaled(overall, by_group, alpha)
        out[f"{m.name}_ser"] = skewed_error_ratio(by_group)
    return out
