#!/usr/bin/env bash
# Issue 33's three reruns on the audited instrument, one after the other, in the order the plans
# give (docs/replication.md, "The reruns"): minority, six brains, weak. Each cell runs with the code
# of its plan's commit, checked out in a worktree beside this checkout (made here if missing), and
# is resumable: finished seeds are skipped, so after a stop the same command goes on where it was.
# Each chunk's raw outputs are committed (COMMIT=1); each cell's report is written when its last
# seed is in (sweeps/rerun_report.py) and left uncommitted, to be read before it is committed.
#   nohup bash sweeps/reruns.sh > logs/reruns.out 2>&1 &
#   CELLS="rerun_anatomies rerun_weak" bash sweeps/reruns.sh    # some of them
set -euo pipefail
cd "$(dirname "$0")/.."
# cell -> the plan's commit (the code its runs use) and the worktree that holds it
declare -A commit=([rerun_minority]=8cd0c99 [rerun_anatomies]=09c479c [rerun_weak]=09c479c)
declare -A worktree=([rerun_minority]=../rerun [rerun_anatomies]=../rerun2 [rerun_weak]=../rerun2)
for cell in ${CELLS:-rerun_minority rerun_anatomies rerun_weak}; do
  if [ -z "${commit[$cell]:-}" ]; then
    echo "CELLS: unknown cell $cell (rerun_minority, rerun_anatomies, rerun_weak)" >&2
    exit 2
  fi
  dir=${worktree[$cell]}
  if [ ! -e "$dir" ]; then
    git worktree add --detach "$dir" "${commit[$cell]}"
  fi
  have=$(git -C "$dir" rev-parse --short=7 HEAD)
  if [ "$have" != "${commit[$cell]}" ]; then
    echo "$dir is at $have, not $cell's plan commit ${commit[$cell]}: move it or remove it" >&2
    exit 2
  fi
  echo "== $cell with the code of ${commit[$cell]} ($dir)"
  CELL=$cell COMMIT=1 CODE_DIR=$dir bash sweeps/powered_replication.sh
done
