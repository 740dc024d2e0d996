"""The seed planner: how many paired seeds a planned family needs, from pilot paired SDs.

A cell compares rules per seed, so what sets its size is the SD of the per-seed *difference*
(rule minus baseline), read from pilot seeds or an earlier cell. For each comparison the planner
gives the seeds that

- **resolve** a difference ``effect`` (two-sided paired t-test, noncentral t power), and
- **show equivalence** within ``+-margin`` when the true difference is ``true_difference``
  (two one-sided tests; power bounded below by ``P(lower rejects) + P(upper rejects) - 1``),

each at ``power``, with the test level ``alpha / family``: Holm's first step, the level the
smallest p-value of a family of ``family`` tests must pass, so the plan holds whichever test
that turns out to be (conservative for the others).

    python -m fair_seg_al.analysis.planner --sd composition_control=0.0061 --sd weighted_entropy=0.0085 \\
        --effect 0.005 --margin 0.01 --family 24

>>> seeds_to_resolve(sd=0.01, effect=0.005)  # normal approximation 31.4; the t-test needs a few more
34
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scipy import stats

#: never plan beyond this many seeds (a plan that needs more says so instead)
MAX_SEEDS = 1000


def _nct_sf(x: float, df: int, ncp: float) -> float:
    """``P(T > x)`` for a noncentral t; where scipy's series gives no number (a very large
    noncentrality), the normal approximation, which is exact in that limit."""
    value = float(stats.nct.sf(x, df, ncp))
    return value if math.isfinite(value) else float(stats.norm.sf(x - ncp))


def power_to_resolve(n: int, sd: float, effect: float, alpha: float = 0.05) -> float:
    """Power of the two-sided paired t-test at level ``alpha`` with ``n`` seeds when the true mean
    difference is ``effect`` and the paired SD ``sd`` (noncentral t). At ``effect = 0`` it is
    ``alpha`` itself."""
    if n < 2:
        return 0.0
    df, ncp = n - 1, effect / (sd / math.sqrt(n))
    crit = stats.t.ppf(1 - alpha / 2, df)
    return _nct_sf(crit, df, ncp) + (1 - _nct_sf(-crit, df, ncp))


def power_of_equivalence(n: int, sd: float, margin: float, alpha: float = 0.05, true_difference: float = 0.0) -> float:
    """Lower bound on the power of TOST at level ``alpha`` (each one-sided test) with ``n`` seeds:
    ``P(lower test rejects) + P(upper test rejects) - 1``, each from the noncentral t."""
    if n < 2:
        return 0.0
    df, se = n - 1, sd / math.sqrt(n)
    crit = stats.t.ppf(1 - alpha, df)
    lower = _nct_sf(crit, df, (true_difference + margin) / se)  # rejects mean <= -margin
    upper = 1 - _nct_sf(-crit, df, (true_difference - margin) / se)  # rejects mean >= +margin
    return float(max(0.0, lower + upper - 1))


def _smallest_n(power_at, target: float) -> int:
    for n in range(2, MAX_SEEDS + 1):
        if power_at(n) >= target:
            return n
    return MAX_SEEDS + 1


def seeds_to_resolve(sd: float, effect: float, family: int = 1, power: float = 0.8, alpha: float = 0.05) -> int:
    """The fewest seeds whose paired t-test at ``alpha / family`` resolves ``effect`` with ``power``
    (``MAX_SEEDS + 1``: more than the planner considers).

    Raises:
        ValueError: a non-positive SD, effect or family.
    """
    _check(sd, effect, family, "effect")
    return _smallest_n(lambda n: power_to_resolve(n, sd, effect, alpha / family), power)


def seeds_for_equivalence(
    sd: float, margin: float, family: int = 1, power: float = 0.8, alpha: float = 0.05, true_difference: float = 0.0
) -> int:
    """The fewest seeds whose TOST at ``alpha / family`` shows equivalence within ``+-margin`` with
    ``power`` when the true difference is ``true_difference`` (``MAX_SEEDS + 1``: never, e.g. a
    true difference at or beyond the margin).

    Raises:
        ValueError: a non-positive SD, margin or family.
    """
    _check(sd, margin, family, "margin")
    return _smallest_n(lambda n: power_of_equivalence(n, sd, margin, alpha / family, true_difference), power)


def _check(sd: float, size: float, family: int, name: str) -> None:
    if not sd > 0:
        raise ValueError(f"the paired SD must be > 0, got {sd}")
    if not size > 0:
        raise ValueError(f"the {name} must be > 0, got {size}")
    if family < 1:
        raise ValueError(f"the family must hold at least 1 test, got {family}")


@dataclass(frozen=True)
class PlannedComparison:
    """One comparison's pilot SD and the seeds it needs."""

    name: str
    sd: float
    seeds_to_resolve: int
    seeds_for_equivalence: int

    @property
    def seeds(self) -> int:
        return max(self.seeds_to_resolve, self.seeds_for_equivalence)


def plan(
    sds: Mapping[str, float], effect: float, margin: float, family: int, power: float = 0.8, alpha: float = 0.05
) -> tuple[list[PlannedComparison], int]:
    """Each comparison's seeds, and the cell's: the most any comparison needs."""
    rows = [
        PlannedComparison(
            name,
            sd,
            seeds_to_resolve(sd, effect, family, power, alpha),
            seeds_for_equivalence(sd, margin, family, power, alpha),
        )
        for name, sd in sds.items()
    ]
    return rows, max((r.seeds for r in rows), default=0)


def markdown(
    rows: Sequence[PlannedComparison], effect: float, margin: float, family: int, power: float, alpha: float
) -> str:
    """The plan's table, as printed in a study plan."""
    cell = max((r.seeds for r in rows), default=0)
    out = [
        f"Seeds planned at power {power:g}, each test at {alpha:g} / {family} = {alpha / family:.4g} "
        f"(Holm's first step in a family of {family}): resolve {effect:g}, equivalence within +-{margin:g} "
        "when the true difference is 0.",
        "",
        "| comparison | pilot paired SD | seeds to resolve | seeds for equivalence |",
        "|---|---|---|---|",
    ]
    fmt = lambda n: f"> {MAX_SEEDS}" if n > MAX_SEEDS else str(n)  # noqa: E731
    for r in rows:
        out.append(f"| {r.name} | {r.sd:.4f} | {fmt(r.seeds_to_resolve)} | {fmt(r.seeds_for_equivalence)} |")
    out += ["", f"The cell needs **{fmt(cell)}** paired seeds (the most any comparison needs)."]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fair_seg_al.analysis.planner", description=__doc__.split("\n\n")[0])
    p.add_argument("--sd", action="append", required=True, metavar="NAME=SD", help="a comparison's pilot paired SD")
    p.add_argument("--effect", type=float, required=True, help="the difference to resolve")
    p.add_argument("--margin", type=float, required=True, help="the equivalence margin (+-)")
    p.add_argument("--family", type=int, required=True, help="tests in the Holm family")
    p.add_argument("--power", type=float, default=0.8)
    p.add_argument("--alpha", type=float, default=0.05)
    args = p.parse_args(argv)
    sds = {}
    for item in args.sd:
        name, _, value = item.rpartition("=")
        try:
            sds[name or f"comparison {len(sds) + 1}"] = float(value)
        except ValueError:
            p.error(f"--sd {item!r}: expected NAME=SD with SD a number")
    try:
        rows, _ = plan(sds, args.effect, args.margin, args.family, args.power, args.alpha)
    except ValueError as err:
        p.error(str(err))
    print(markdown(rows, args.effect, args.margin, args.family, args.power, args.alpha), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
