#!/usr/bin/env bash
# The label-resampling check (issue 32, plan: docs/label_fix.md) in resumable chunks of seeds
# (sweeps/chunks.sh); raw per-run files go to docs/label_fix/runs/, then the report is rebuilt.
#   bash sweeps/label_fix_check.sh                        # seeds 0-4, one per chunk
#   CODE_DIR=../labelfix COMMIT=1 bash sweeps/label_fix_check.sh   # jobs run a pinned checkout's code
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-"0 1 2 3 4"}
CHUNK=${CHUNK:-1}
source sweeps/chunks.sh
check_jobs() { fsa_main experiment=label_fix_check "$1"; }
# the audit checks the nearest arm's pipeline; the linear_threshold arm is the known-eroding control
audit_first label_fix_check experiment=label_fix_check seed=0 data.augmentation.label_interpolation=nearest
run_chunks label_fix label_fix_check docs/label_fix/runs check_jobs "Label-resampling check"
"$PY" sweeps/label_fix_report.py
