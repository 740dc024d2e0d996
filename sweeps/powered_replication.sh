#!/usr/bin/env bash
# The powered replication (issue #8, plan: docs/powered_replication.md) in resumable chunks of
# seeds. After each chunk the raw per-run files of its finished runs are archived into
# docs/replication/runs/<sweep>/ (with COMMIT=1 also committed, so a stopped machine loses at
# most one chunk) and the report is rebuilt from everything archived so far.
#   bash sweeps/powered_replication.sh                    # strong bias, seeds 0-11, two per chunk
#   CELL=minority bash sweeps/powered_replication.sh      # group B 20 % of the cohort
#   CELL=weak SEEDS="0 1 2 3" bash sweeps/powered_replication.sh
#   CELL=strong_bare CODE_DIR=../repl bash sweeps/powered_replication.sh   # the paper's bare Weighted
#       Entropy (no weight floor, no shrinkage) added to the strong cell, same seeds and pinned code
# Relaunching is safe: finished jobs are skipped, interrupted ones continue (resume=true).
# CODE_DIR=DIR runs the jobs with the code checked out in DIR (e.g. a worktree pinned at the
# replication's commit, so that this checkout can move on without mixing code versions); logs,
# cohorts and the archive stay in this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PY:-$ROOT/.venv/bin/python}
CODE_DIR=${CODE_DIR:-$ROOT}
SEEDS=${SEEDS:-"0 1 2 3 4 5 6 7 8 9 10 11"}
CHUNK=${CHUNK:-2}
CELL=${CELL:-strong}
case "$CELL" in
  strong) sweep=sweep_powered; args=(experiment=sweep_powered) ;;
  strong_bare) sweep=sweep_powered; args=(experiment=sweep_powered strategy=weighted_entropy
    strategy.name=weighted_entropy_bare strategy.weight_floor=0 strategy.estimator.small_groups=none) ;;
  minority) sweep=sweep_powered_minority; args=(experiment=sweep_powered_minority) ;;
  weak) sweep=sweep_powered_weak; args=(experiment=sweep_powered bias=weak sweep_name=sweep_powered_weak) ;;
  *) echo "CELL must be strong, strong_bare, minority or weak (got $CELL)" >&2; exit 2 ;;
esac
set -- $SEEDS
while [ $# -gt 0 ]; do
  chunk=()
  for _ in $(seq "$CHUNK"); do [ $# -gt 0 ] && { chunk+=("$1"); shift; }; done
  seeds=$(IFS=,; echo "${chunk[*]}")
  echo "== $CELL chunk: seeds $seeds ($(date -u +%FT%TZ))"
  start=$(date +%s)
  code="$(git -C "$CODE_DIR" rev-parse --short HEAD)$(git -C "$CODE_DIR" diff --quiet HEAD -- fair_seg_al conf || echo '+uncommitted')"  # at the start
  (cd "$CODE_DIR" && FAIR_SEG_AL_ROOT="$ROOT" PYTHONPATH="$CODE_DIR" "$PY" -m fair_seg_al.main -m "${args[@]}" "seed=$seeds")
  echo "== $CELL chunk: seeds $seeds took $(( $(date +%s) - start )) s (code $code)" | tee -a "logs/al/multiruns/$sweep/chunks.log"
  "$PY" -m fair_seg_al.archive "logs/al/multiruns/$sweep" "docs/replication/runs/$sweep"
  if [ "${COMMIT:-0}" = 1 ]; then
    cp "logs/al/multiruns/$sweep/chunks.log" "docs/replication/runs/$sweep/chunks.log"
    git add "docs/replication/runs/$sweep"
    git commit -q -m "Powered replication ($CELL): raw outputs of seeds $seeds" -- "docs/replication/runs/$sweep" || true
  fi
done
"$PY" sweeps/replication_report.py
