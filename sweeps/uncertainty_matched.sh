#!/usr/bin/env bash
# The deconfounded uncertainty comparison (issue #16; plan: docs/uncertainty.md) in resumable
# chunks of seeds. Per chunk: masked entropy, BALD and TTA first, then masked entropy with
# BALD's and with TTA's group counts (they read those runs' selections.csv); then the chunk's
# finished runs are archived into docs/uncertainty/runs/uncertainty_matched/ (COMMIT=1: and
# committed) and the comparison is rebuilt. Relaunching skips finished jobs.
#   bash sweeps/uncertainty_matched.sh                     # seeds 0-11, two per chunk
#   SEEDS="4 5" COMMIT=1 bash sweeps/uncertainty_matched.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PY:-$ROOT/.venv/bin/python}
CODE_DIR=${CODE_DIR:-$ROOT}
SEEDS=${SEEDS:-"0 1 2 3 4 5 6 7 8 9 10 11"}
CHUNK=${CHUNK:-2}
sweep=uncertainty_matched
archive=docs/uncertainty/runs/$sweep
run() { (cd "$CODE_DIR" && FAIR_SEG_AL_ROOT="$ROOT" PYTHONPATH="$CODE_DIR" "$PY" -m fair_seg_al.main -m experiment=$sweep "$@"); }
set -- $SEEDS
while [ $# -gt 0 ]; do
  chunk=()
  for _ in $(seq "$CHUNK"); do [ $# -gt 0 ] && { chunk+=("$1"); shift; }; done
  seeds=$(IFS=,; echo "${chunk[*]}")
  echo "== $sweep chunk: seeds $seeds ($(date -u +%FT%TZ))"
  start=$(date +%s)
  code="$(git -C "$CODE_DIR" rev-parse --short HEAD)$(git -C "$CODE_DIR" diff --quiet HEAD -- fair_seg_al conf || echo '+uncommitted')"
  run "seed=$seeds"
  run "seed=$seeds" strategy=masked_entropy strategy/composition=matched strategy.composition.reference=mc_bald,tta
  echo "== $sweep chunk: seeds $seeds took $(( $(date +%s) - start )) s (code $code)" | tee -a "logs/al/multiruns/$sweep/chunks.log"
  "$PY" -m fair_seg_al.archive "logs/al/multiruns/$sweep" "$archive"
  # merge, never overwrite: the archive keeps the chunk lines of other machines and sessions
  touch "$archive/chunks.log"
  grep -vxF -f "$archive/chunks.log" "logs/al/multiruns/$sweep/chunks.log" >> "$archive/chunks.log" || true
  if [ "${COMMIT:-0}" = 1 ]; then
    git add "$archive"
    git commit -q -m "Deconfounded uncertainty comparison: raw outputs of seeds $seeds" -- "$archive" || true
  fi
done
