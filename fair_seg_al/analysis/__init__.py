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
- :mod:`~fair_seg_al.analysis.estimators`: how well each group-performance estimator tracks the
  truth it stands in for (scores any runs that record ``estimates.csv``);
- :mod:`~fair_seg_al.analysis.planner` and :mod:`~fair_seg_al.analysis.plans`: seeds for a
  planned comparison, and study plans as data.

Nothing here knows where a source checkout keeps its docs: every reader and writer takes its
folders as arguments. The studies of this repository's docs/ (the powered replication, the
recommendation, the deconfounded uncertainty comparison, the development cohort's choice and the
estimator benchmark's tables) are not part of the package: they live in ``sweeps/studies/``,
each rebuilt by a thin script in ``sweeps/`` or ``benchmarks/``.
"""
