"""The estimator benchmark: collect a sweep's raw runs, or rebuild its tables and figures
(:mod:`fair_seg_al.analysis.estimators`).

    python benchmarks/estimator_benchmark.py collect logs/al/multiruns/estimator_benchmark \\
        --raw docs/estimators/runs/estimator_benchmark
    python benchmarks/estimator_benchmark.py report docs/estimators/runs --out docs/estimators
"""

from fair_seg_al.analysis.estimators import main

if __name__ == "__main__":
    main()
