#!/usr/bin/env bash
# The powered replication (issue #8, plan: docs/powered_replication.md) in resumable chunks of
# seeds (sweeps/chunks.sh): after each chunk the raw per-run files of its finished runs are
# archived into docs/replication/runs/<sweep>/ (with COMMIT=1 also committed, so a stopped
# machine loses at most one chunk); at the end the reports are rebuilt from everything archived.
#   bash sweeps/powered_replication.sh                    # strong bias, seeds 0-11, two per chunk
#   CELL=minority bash sweeps/powered_replication.sh      # group B a minority of the pool
#   CELL=weak SEEDS="0 1 2 3" bash sweeps/powered_replication.sh
#   CELL=weak_control CODE_DIR=../cell bash sweeps/powered_replication.sh   # the weak cell's post-hoc
#       composition-matched control (docs/minority.md, amendment), imbalanced start, same pinned code
#   CELL=anatomies bash sweeps/powered_replication.sh      # the minority question on six real brains
#   CELL=rerun_minority bash sweeps/powered_replication.sh # the minority cell on the audited instrument
#       (issue 33; seeds 0-35, two per chunk; plan: docs/plans/minority_rerun.md)
#   CELL=rerun_anatomies bash sweeps/powered_replication.sh  # the six-brain cell on the audited instrument
#       (issue 33; seeds 0-29, two per chunk; plan: docs/plans/anatomies_rerun.md)
#   CELL=rerun_weak bash sweeps/powered_replication.sh      # the weak cell's claim (a) on the audited
#       instrument (issue 33; seeds 0-31, two per chunk; plan: docs/plans/weak_rerun.md)
#   CELL=strong_bare CODE_DIR=../repl bash sweeps/powered_replication.sh   # the paper's bare Weighted
#       Entropy (no weight floor, no shrinkage) added to the strong cell, same seeds and pinned code
# Before the first chunk the pipeline audit checks the cell's data pipeline per group (AUDIT=warn
# goes on after a failure, AUDIT=0 skips it; sweeps/chunks.sh).
# CODE_DIR=DIR runs the jobs with the code checked out in DIR (e.g. a worktree pinned at the
# replication's commit, so that this checkout can move on without mixing code versions).
set -euo pipefail
cd "$(dirname "$0")/.."
default_seeds="0 1 2 3 4 5 6 7 8 9 10 11"
CELL=${CELL:-strong}
extra=()   # a second multirun per chunk (a rule run from one start only)
case "$CELL" in
  strong) sweep=sweep_powered; args=(experiment=sweep_powered) ;;
  strong_bare) sweep=sweep_powered; args=(experiment=sweep_powered strategy=weighted_entropy
    strategy.name=weighted_entropy_bare strategy.weight_floor=0 strategy.estimator.small_groups=none) ;;
  minority) sweep=sweep_powered_minority; args=(experiment=sweep_powered_minority) ;;
  weak) sweep=sweep_powered_weak; args=(experiment=sweep_powered_weak) ;;
  weak_control) sweep=sweep_powered_weak; args=(experiment=sweep_powered_weak strategy=composition_control
    init=imbalanced) ;;
  anatomies) sweep=sweep_anatomies_minority; args=(experiment=sweep_anatomies_minority) ;;
  rerun_minority) sweep=rerun_minority; args=(experiment=rerun_minority)   # plan: docs/plans/minority_rerun.md
    extra=(experiment=rerun_minority strategy=composition_control init=imbalanced)
    default_seeds=$(seq -s " " 0 35) ;;   # two seeds per chunk: the two composition_control jobs share the cores
  rerun_anatomies) sweep=rerun_anatomies; args=(experiment=rerun_anatomies)   # plan: docs/plans/anatomies_rerun.md
    default_seeds=$(seq -s " " 0 29) ;;
  rerun_weak) sweep=rerun_weak; args=(experiment=rerun_weak)   # plan: docs/plans/weak_rerun.md
    default_seeds=$(seq -s " " 0 31) ;;
  *) echo "CELL must be strong, strong_bare, minority, weak, weak_control, anatomies, rerun_minority, rerun_anatomies or rerun_weak (got $CELL)" >&2; exit 2 ;;
esac
SEEDS=${SEEDS:-$default_seeds}
source sweeps/chunks.sh
cell_jobs() {
  fsa_main "${args[@]}" "$1"
  if [ ${#extra[@]} -gt 0 ]; then fsa_main "${extra[@]}" "$1"; fi
}
audit_first "$sweep" "${args[@]}"
run_chunks "$CELL" "$sweep" "docs/replication/runs/$sweep" cell_jobs "Powered replication ($CELL)"
case "$CELL" in
  rerun_*) "$PY" sweeps/rerun_report.py "${CELL#rerun_}" ;;   # the plan's verdicts, the old cell beside them
  *) "$PY" sweeps/replication_report.py ;;
esac
