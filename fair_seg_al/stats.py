"""Paired statistics for strategy comparisons.

Runs that differ only in strategy share their seed's initial set, test set and cohort, so a
strategy is compared with a reference *per seed*: the paired difference removes the
seed-to-seed variation both share. Everything here is a pure function of per-seed values.

>>> d = paired_summary([0.02, 0.03, 0.01, 0.04, 0.05, 0.00, 0.02, 0.03], seed=0)
>>> round(d.mean, 4), d.n, d.resolved
(0.025, 8, True)
>>> seeds_needed(sd=0.025, delta=0.02)
13
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass
class PairedSummary:
    """A paired difference over seeds: mean, 95 % bootstrap CI, Wilcoxon and sign tests."""

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    wilcoxon_p: float
    sign_p: float
    n_positive: int
    n_negative: int

    @property
    def resolved(self) -> bool:
        """The 95 % interval excludes 0 (the difference is not within seed noise)."""
        return bool(self.ci_low > 0 or self.ci_high < 0)


def area_under_curve(x, y) -> float:
    """Mean height of ``y`` over ``x`` (trapezoid area / range of ``x``); one point: its value."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2:
        return float(y[0])
    return float(np.trapezoid(y, x) / (x[-1] - x[0]))


def bootstrap_ci(values, n_boot: int = 10000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (NaN with fewer than 2 values)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), (n_boot, len(v)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


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
    return PairedSummary(
        n=len(v),
        mean=float(v.mean()) if len(v) else float("nan"),
        sd=float(v.std(ddof=1)) if len(v) > 1 else float("nan"),
        ci_low=lo,
        ci_high=hi,
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
