"""This project's own studies: each rebuilds a page of docs/ from the raw runs archived there.

Not part of the installed package (``pyproject.toml`` installs ``fair_seg_al`` only): these modules
hard-code this repository's docs/ paths, strategy names and prose. Each is run through a thin script
(``python sweeps/replication_report.py``, ``python sweeps/recommendation.py``,
``python sweeps/uncertainty_matched_report.py``, ``python sweeps/minority_dev_report.py``,
``python benchmarks/estimator_benchmark.py report ...``), and imports the package's generic parts
(:mod:`fair_seg_al.analysis.runs`, ``stats``, ``comparisons``, ``report``, ``estimators``).

- :mod:`studies.replication`: the powered replication's cells and their verdicts;
- :mod:`studies.recommendation`: which preset the product recommends, by a rule;
- :mod:`studies.uncertainty_matched`: the deconfounded uncertainty comparison;
- :mod:`studies.minority_dev`: the candidate's settings on the development cohort;
- :mod:`studies.estimators`: the estimator benchmark's tables, figures and decision.
"""

from pathlib import Path

#: this checkout (sweeps/studies/ -> the repository root), whose docs/ hold the studies' raw runs
REPO = Path(__file__).resolve().parents[2]
