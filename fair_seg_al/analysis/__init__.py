"""Analysis of AL runs: everything that reads run folders and turns them into tables,
figures and verdicts.

- :mod:`~fair_seg_al.analysis.runs`: the one reader of run folders (live or archived) and the
  one rule for "is this run finished?";
- :mod:`~fair_seg_al.analysis.archive`: copies a sweep's small raw files where they can be
  committed (the one archive layout: a run folder without model states);
- :mod:`~fair_seg_al.analysis.stats`: paired intervals, Holm, the verdict words, AUC, bootstraps;
- :mod:`~fair_seg_al.analysis.comparisons`: per-seed paired differences between strategies;
- :mod:`~fair_seg_al.analysis.report`: any set of runs -> tables and figures
  (``python -m fair_seg_al.analysis.report``);
- the studies in docs/, each rebuilt from its committed raw runs by a thin script in
  ``sweeps/`` or ``benchmarks/``: :mod:`~fair_seg_al.analysis.replication` (powered cells and
  their verdicts), :mod:`~fair_seg_al.analysis.recommendation`,
  :mod:`~fair_seg_al.analysis.uncertainty_matched`, :mod:`~fair_seg_al.analysis.minority_dev`
  and :mod:`~fair_seg_al.analysis.estimators` (the estimator benchmark).
"""

from pathlib import Path

#: the source checkout whose docs/ hold the studies' archived raw runs
REPO = Path(__file__).resolve().parents[2]
