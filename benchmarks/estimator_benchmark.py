"""The estimator benchmark: collect a sweep's raw runs, or rebuild its tables and figures
(:mod:`studies.estimators`, in sweeps/studies/; the scores themselves:
:mod:`fair_seg_al.analysis.estimators`).

    python benchmarks/estimator_benchmark.py collect logs/al/multiruns/estimator_benchmark \\
        --raw docs/estimators/runs/estimator_benchmark
    python benchmarks/estimator_benchmark.py report docs/estimators/runs --out docs/estimators
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sweeps"))  # the studies are not installed

from studies.estimators import main  # noqa: E402

if __name__ == "__main__":
    main()
