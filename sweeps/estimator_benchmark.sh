#!/usr/bin/env bash
# The estimator benchmark (issue #7 C) in resumable chunks of seeds: after each chunk its raw
# per-run outputs are copied into docs/estimators/runs/ (commit them before the next chunk),
# and the tables and figures are rebuilt from everything copied so far.
#   bash sweeps/estimator_benchmark.sh            # seeds 0-9, two seeds per chunk
#   SEEDS="0 1" bash sweeps/estimator_benchmark.sh
# Arm 2 (selection bias of the estimators under uncertainty sampling): ARM=entropy.
# The re-scoring on the pool truth (issue #16) keeps its runs apart from the first benchmark's:
#   NAME=estimator_benchmark_pool OUT=docs/estimators/pool bash sweeps/estimator_benchmark.sh
# The label-free estimators' benchmark (issue 34; plan: docs/plans/label_free_estimators.md):
#   EXPERIMENT=estimator_benchmark_label_free NAME=label_free OUT=docs/estimators/label_free \
#     ARM=entropy SEEDS="$(seq -s ' ' 0 35)" bash sweeps/estimator_benchmark.sh
#   EXPERIMENT=estimator_benchmark_label_free NAME=label_free OUT=docs/estimators/label_free bash sweeps/estimator_benchmark.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
SEEDS=${SEEDS:-$([ "${ARM:-random}" = entropy ] && echo "0 1 2 3 4" || echo "0 1 2 3 4 5 6 7 8 9")}
CHUNK=${CHUNK:-2}
ARM=${ARM:-random}
NAME=${NAME:-estimator_benchmark}   # sweep folder name (the entropy arm appends _entropy)
EXPERIMENT=${EXPERIMENT:-estimator_benchmark}
OUT=${OUT:-docs/estimators}         # raw runs go to $OUT/runs/<sweep>, the report to $OUT
if [ "$ARM" = entropy ]; then
  sweep=${NAME}_entropy
  arm=(strategy=masked_entropy bias=strong)
  # the first benchmark's kfold probe (from the current weights) is not run in this arm
  [ "$EXPERIMENT" = estimator_benchmark ] && arm+=("~estimation.probes.kfold")
else
  sweep=$NAME
  arm=()
fi
set -- $SEEDS
while [ $# -gt 0 ]; do
  chunk=()
  for _ in $(seq "$CHUNK"); do [ $# -gt 0 ] && { chunk+=("$1"); shift; }; done
  seeds=$(IFS=,; echo "${chunk[*]}")
  echo "== chunk: seeds $seeds ($(date))"
  "$PY" -m fair_seg_al.main -m "experiment=$EXPERIMENT" \
      "seed=$seeds" sweep_name="$sweep" "${arm[@]}"
  "$PY" benchmarks/estimator_benchmark.py collect "logs/al/multiruns/$sweep" --raw "$OUT/runs/$sweep"
done
"$PY" benchmarks/estimator_benchmark.py report "$OUT/runs" --out "$OUT"
