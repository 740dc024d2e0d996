"""Paired statistics for strategy comparisons.

Runs that differ only in strategy share their seed's initial set, test set and cohort, so a
strategy is compared with a reference *per seed*: the paired difference removes the
seed-to-seed variation both share. Everything here is a pure function of per-seed values.

The primary interval is the paired t-interval (at 5-20 seeds a percentile bootstrap is too
narrow: it ignores the t distribution's heavier tails); the percentile bootstrap is kept as
a second column. A planned family of tests is Holm-adjusted (:func:`holm`). Absolute levels
(a strategy's final Dice) vary with the seeds *and* with the one fixed test set, so their
interval resamples both (:func:`two_level_bootstrap`).

>>> d = paired_summary([0.02, 0.03, 0.01, 0.04, 0.05, 0.00, 0.02, 0.03], seed=0)
>>> round(d.mean, 4), d.n, d.resolved
(0.025, 8, True)
>>> verdict(d, "higher")
'resolved better (+0.025 [+0.012, +0.038])'
>>> seeds_needed(sd=0.025, delta=0.02)
13
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass
class PairedSummary:
    """A paired difference over seeds: mean, 95 % paired t-interval (``ci_low``, ``ci_high``)
    and its p-value, the percentile bootstrap interval, Wilcoxon and sign tests.

    ``p_adjusted`` is the Holm-adjusted t p-value once the summary is part of a planned family
    (:func:`holm`); :attr:`resolved` then uses it instead of the interval alone.
    """

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    t_p: float
    boot_low: float
    boot_high: float
    wilcoxon_p: float
    sign_p: float
    n_positive: int
    n_negative: int
    p_adjusted: float | None = None

    @property
    def resolved(self) -> bool:
        """The 95 % t-interval excludes 0 (Holm-adjusted p < 0.05 within a planned family)."""
        if self.p_adjusted is not None:
            return bool(self.p_adjusted < 0.05)
        return bool(self.ci_low > 0 or self.ci_high < 0)


def t_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """Paired t-interval of the mean and the two-sided one-sample t p-value (NaN below 2 values).

    A constant difference has a zero-width interval and p 0 (or 1 if it is 0).
    """
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) < 2:
        return float("nan"), float("nan"), float("nan")
    mean, se = float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v)))
    if se == 0:
        return mean, mean, 1.0 if mean == 0 else 0.0
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1)) * se
    p = float(2 * stats.t.sf(abs(mean) / se, len(v) - 1))
    return mean - half, mean + half, p


def welch_interval(x, y, level: float = 0.95) -> tuple[float, float, float, float]:
    """``mean(x) - mean(y)`` for two independent samples (e.g. the per-seed differences of two
    cells with their own cohorts), its Welch t-interval and two-sided p; NaN below 2 values each,
    and, as :func:`t_interval`, a zero-width interval with p 0 (1 if equal) where neither varies.

    By hand below: SE = sqrt(1/3 + 1/3) = 0.816 on Welch's 4 df, t(0.975, 4) = 2.776, so 1 +- 2.267;
    t = 1.225, p = 0.288.

    >>> [round(v, 3) for v in welch_interval([1.0, 2.0, 3.0], [0.0, 1.0, 2.0])]
    [1.0, -1.267, 3.267, 0.288]
    """
    a, b = (np.asarray(v, dtype=float) for v in (x, y))
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) < 2 or len(b) < 2:
        return (float("nan"),) * 4
    d = float(a.mean() - b.mean())
    if np.ptp(a) == 0 and np.ptp(b) == 0:  # as t_interval: no spread, a zero-width interval
        return d, d, d, 1.0 if d == 0 else 0.0
    with warnings.catch_warnings():  # one constant sample is exact here (the SE is the other's), not a precision loss
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(a, b, equal_var=False)
    ci = result.confidence_interval(level)
    return d, float(ci.low), float(ci.high), float(result.pvalue)


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error), NaN kept as NaN.

    >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(len(p), np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m, running = len(order), 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[i]))
        out[i] = running
    return out


def adjust_family(summaries) -> None:
    """Holm-adjust a planned family of :class:`PairedSummary` in place (sets ``p_adjusted``)."""
    summaries = [s for s in summaries if s is not None]
    for s, q in zip(summaries, holm([s.t_p for s in summaries]), strict=True):
        s.p_adjusted = float(q)


def verdict(p: PairedSummary, better: str = "higher") -> str:
    """The only words a difference gets: "resolved better", "resolved worse" (for the strategy,
    given which direction is ``better``: "higher", "lower", "closer to 0"), "resolved higher" /
    "resolved lower" (a descriptive metric), or "unresolved", each with the mean and interval."""
    text = f"{p.mean:+.3f} [{p.ci_low:+.3f}, {p.ci_high:+.3f}]"
    if p.p_adjusted is not None:
        text += f", Holm p={p.p_adjusted:.2g}"
    if not p.resolved:
        return f"unresolved ({text})"
    up = p.mean > 0
    if better == "higher":
        word = "better" if up else "worse"
    elif better == "lower":
        word = "worse" if up else "better"
    else:  # closer to 0 needs the levels, not just the difference; descriptive has no better
        word = "higher" if up else "lower"
    return f"resolved {word} ({text})"


def area_under_curve(x, y) -> float:
    """Mean height of ``y`` over ``x`` (trapezoid area / range of ``x``); one point: its value."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2:
        return float(y[0])
    return float(np.trapezoid(y, x) / (x[-1] - x[0]))


def _percentile_interval(reps: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2 * 100
    return float(np.percentile(reps, tail)), float(np.percentile(reps, 100 - tail))


def bootstrap_ci(values, n_boot: int = 10000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (NaN with fewer than 2 values)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    return _percentile_interval(v[rng.integers(0, len(v), (n_boot, len(v)))].mean(axis=1), level)


def sign_test(values) -> float:
    """Two-sided exact sign test of the median being 0 (zeros dropped)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v) & (v != 0)]
    if len(v) == 0:
        return float("nan")
    return float(stats.binomtest(int((v > 0).sum()), len(v), 0.5).pvalue)


def wilcoxon(values) -> float:
    """Two-sided Wilcoxon signed-rank p-value (NaN where it cannot be computed)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) < 2 or np.all(v == 0):
        return float("nan")
    return float(stats.wilcoxon(v).pvalue)


def paired_summary(differences, n_boot: int = 10000, seed: int = 0) -> PairedSummary:
    """Summarise per-seed paired differences (strategy minus reference)."""
    v = np.asarray(differences, dtype=float)
    v = v[~np.isnan(v)]
    lo, hi = bootstrap_ci(v, n_boot, seed=seed)
    t_lo, t_hi, t_p = t_interval(v)
    return PairedSummary(
        n=len(v),
        mean=float(v.mean()) if len(v) else float("nan"),
        sd=float(v.std(ddof=1)) if len(v) > 1 else float("nan"),
        ci_low=t_lo,
        ci_high=t_hi,
        t_p=t_p,
        boot_low=lo,
        boot_high=hi,
        wilcoxon_p=wilcoxon(v),
        sign_p=sign_test(v),
        n_positive=int((v > 0).sum()),
        n_negative=int((v < 0).sum()),
    )


def seeds_needed(sd: float, delta: float, power: float = 0.8, alpha: float = 0.05) -> int:
    """Paired seeds needed to resolve a mean difference ``delta`` at ``power`` (two-sided
    ``alpha``), given the paired SD: ``n = ((z_{1-alpha/2} + z_power) sd / delta)^2``, rounded up.

    The normal approximation; with few seeds a t-test needs one or two more.
    """
    if not sd > 0 or not delta > 0:
        return 0 if sd == 0 else -1
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return int(math.ceil((z * sd / delta) ** 2))


def tost(differences, margin: float) -> float:
    """Two one-sided t-tests (TOST) of equivalence within ``+-margin`` for paired per-seed
    differences: ``max`` of the p-values of H0 mean <= -margin and H0 mean >= margin. Below
    ``alpha`` exactly when the ``1 - 2 alpha`` t-interval lies inside ``(-margin, margin)``.
    NaN below 2 values; a constant difference: 0 inside the margin, 1 outside.

    By hand below: mean 0, SD 2/sqrt(3), n 4, so SE 1/sqrt(3); t = (0 + 1) sqrt(3) = 1.732 on 3 df,
    one-sided p = 0.0908 (both sides alike). Shifted by +1, the mean sits on the margin: p = 0.5.

    >>> round(tost([-1.0, 1.0, -1.0, 1.0], 1.0), 4)
    0.0908
    >>> tost([0.0, 2.0, 0.0, 2.0], 1.0)
    0.5
    """
    v = np.asarray(differences, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) < 2 or not margin > 0:
        return float("nan")
    mean, se = float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v)))
    if se == 0:
        return 0.0 if abs(mean) < margin else 1.0
    df = len(v) - 1
    p_lower = float(stats.t.sf((mean + margin) / se, df))  # H0: mean <= -margin
    p_upper = float(stats.t.cdf((mean - margin) / se, df))  # H0: mean >= +margin
    return max(p_lower, p_upper)


def equivalence_verdict(p: PairedSummary, margin: float, tost_p: float, better: str = "higher") -> str:
    """The four words a planned comparison with a declared margin gets: "resolved better" /
    "resolved worse" (the difference test, Holm-adjusted in ``p``), else "equivalent within +-m"
    (``tost_p``, Holm-adjusted with the rest, below 0.05), else "inconclusive"; each with the mean
    and 95 % interval. A resolved difference that is also inside the margin says so."""
    text = f"{p.mean:+.3f} [{p.ci_low:+.3f}, {p.ci_high:+.3f}]"
    equivalent = bool(tost_p < 0.05)
    if p.resolved:
        word = verdict(p, better).split(" (", 1)[0]
        return f"{word} ({text}{f', within +-{margin:g}' if equivalent else ''})"
    if equivalent:
        return f"equivalent within +-{margin:g} ({text}, TOST Holm p={tost_p:.2g})"
    return f"inconclusive ({text}; margin +-{margin:g})"


def reduction_ci(reference, strategy, n_boot: int = 10000, seed: int = 0) -> tuple[float, float, float]:
    """Relative reduction ``(mean ref - mean strat) / mean ref`` of paired per-seed values, with a
    95 % bootstrap interval that resamples seeds (both values of a seed move together)."""
    ref, st = np.asarray(reference, dtype=float), np.asarray(strategy, dtype=float)
    keep = ~(np.isnan(ref) | np.isnan(st))
    ref, st = ref[keep], st[keep]
    if len(ref) == 0 or ref.mean() <= 0:
        return float("nan"), float("nan"), float("nan")
    point = float((ref.mean() - st.mean()) / ref.mean())
    if len(ref) < 2:
        return point, float("nan"), float("nan")
    idx = np.random.default_rng(seed).integers(0, len(ref), (n_boot, len(ref)))
    r, s_ = ref[idx].mean(axis=1), st[idx].mean(axis=1)
    ratios = (r - s_) / np.where(r > 0, r, np.nan)
    return point, float(np.nanpercentile(ratios, 2.5)), float(np.nanpercentile(ratios, 97.5))


def two_level_bootstrap(
    values: np.ndarray, groups, statistic, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Interval of an absolute level over seeds *and* test images.

    ``values`` is ``(n_seeds, n_images)``: per seed (run) and test image, e.g. the final Dice;
    every run of a cell scores the same test images, so the image axis is shared. Each
    replicate resamples seeds with replacement and, crossed with them, test images with
    replacement within each group (the group sizes stay fixed); ``statistic`` maps the
    ``(n_seeds', n_groups)`` per-seed group means to one number per seed, averaged over seeds.

    Returns ``(point, low, high)``, the point from the data as they are.

    >>> v = np.array([[0.8, 0.6], [0.8, 0.6]])
    >>> [round(x, 6) for x in two_level_bootstrap(v, ["A", "B"], lambda m: m[:, 0] - m[:, 1])]
    [0.2, 0.2, 0.2]
    """
    values = np.asarray(values, dtype=float)
    groups = np.asarray(groups)
    names = sorted(set(groups.tolist()))
    members = [np.flatnonzero(groups == g) for g in names]

    def estimate(v: np.ndarray, cols: list[np.ndarray]) -> float:
        means = np.stack([v[:, c].mean(axis=1) for c in cols], axis=1)
        return float(np.mean(statistic(means)))

    point = estimate(values, members)
    rng = np.random.default_rng(seed)
    reps = np.empty(n_boot)
    for b in range(n_boot):
        rows = values[rng.integers(0, len(values), len(values))]
        reps[b] = estimate(rows, [c[rng.integers(0, len(c), len(c))] for c in members])
    return (point, *_percentile_interval(reps, level))


def nested_bootstrap(
    values: Sequence[np.ndarray],
    groups: Sequence[Sequence],
    statistic,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Interval of an absolute level over seeds *and* test images, each seed its own test set.

    The replication cells draw a cohort and a test split per seed, so test images are nested in
    seeds, not crossed with them as in :func:`two_level_bootstrap`. ``values[s]`` and ``groups[s]``
    are seed ``s``'s per-image values and group labels (every seed has the same groups). Each
    replicate resamples seeds with replacement and then, for every seed drawn, that seed's images
    with replacement within each group (group sizes stay fixed); ``statistic`` maps the
    ``(n_seeds, n_groups)`` per-seed group means to one number per seed, averaged over seeds.

    Returns ``(point, low, high)``, the point from the data as they are.

    >>> v = [np.array([0.8, 0.6]), np.array([0.9, 0.5])]
    >>> g = [["A", "B"], ["B", "A"]]  # one image per group: only the seeds vary
    >>> [round(x, 6) for x in nested_bootstrap(v, g, lambda m: m[:, 0], n_boot=200)[:1]]
    [0.65]
    """
    names = sorted(set(np.asarray(groups[0]).tolist()))
    members = []
    for s, g in enumerate(groups):
        g = np.asarray(g)
        if sorted(set(g.tolist())) != names:
            raise ValueError(f"seed {s} has groups {sorted(set(g.tolist()))}, seed 0 has {names}")
        members.append([np.flatnonzero(g == n) for n in names])
    values = [np.asarray(v, dtype=float) for v in values]

    def means(s: int, pick=None) -> np.ndarray:
        return np.array([values[s][c if pick is None else pick(c)].mean() for c in members[s]])

    point = float(np.mean(statistic(np.stack([means(s) for s in range(len(values))]))))
    rng = np.random.default_rng(seed)
    reps = np.empty(n_boot)
    for b in range(n_boot):
        drawn = rng.integers(0, len(values), len(values))
        m = np.stack([means(s, lambda c: c[rng.integers(0, len(c), len(c))]) for s in drawn])
        reps[b] = np.mean(statistic(m))
    return (point, *_percentile_interval(reps, level))
