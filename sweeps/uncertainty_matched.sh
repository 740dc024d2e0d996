#!/usr/bin/env bash
# The deconfounded uncertainty comparison (issue #16; plan: docs/uncertainty.md) in resumable
# chunks of seeds (sweeps/chunks.sh). Per chunk: masked entropy, BALD and TTA first, then masked
# entropy with BALD's and with TTA's group counts (they read those runs' selections.csv); the
# chunk's finished runs go to docs/uncertainty/runs/uncertainty_matched/ (COMMIT=1: committed).
#   bash sweeps/uncertainty_matched.sh                     # seeds 0-11, two per chunk
#   SEEDS="4 5" COMMIT=1 bash sweeps/uncertainty_matched.sh
#   python sweeps/uncertainty_matched_report.py            # then: report and verdicts
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-"0 1 2 3 4 5 6 7 8 9 10 11"}
source sweeps/chunks.sh
both_phases() {
  fsa_main experiment=uncertainty_matched "$1"
  fsa_main experiment=uncertainty_matched "$1" strategy=masked_entropy strategy/composition=matched \
    strategy.composition.reference=mc_bald,tta
}
run_chunks uncertainty_matched uncertainty_matched docs/uncertainty/runs/uncertainty_matched both_phases \
  "Deconfounded uncertainty comparison"
