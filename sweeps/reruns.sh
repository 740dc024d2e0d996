#!/usr/bin/env bash
# Issue 33's three reruns on the audited instrument, one after the other, in the order the plans
# give (docs/replication.md, "Reruns on the audited instrument"): minority, six brains, weak. Each
# cell runs with the code of its plan's commit, checked out in a worktree beside this checkout
# (made here if missing), and is resumable: finished seeds are skipped, so after a stop the same
# command goes on where it was. Each chunk's raw outputs are committed (COMMIT=1); each cell's
# report is written when its last seed is in (sweeps/rerun_report.py) and left uncommitted, to be
# read before it is committed.
#   nohup bash sweeps/reruns.sh > logs/reruns.out 2>&1 &
#   CELLS="rerun_anatomies rerun_weak" bash sweeps/reruns.sh    # some of them
set -euo pipefail
cd "$(dirname "$0")/.."
cells=${CELLS:-rerun_minority rerun_anatomies rerun_weak}

plan_commit() {  # a cell's plan commit and its worktree, or nothing for an unknown cell
  case "$1" in
    rerun_minority) echo "8cd0c99 ../rerun" ;;
    rerun_anatomies | rerun_weak) echo "09c479c ../rerun2" ;;
  esac
}

# every name checked before the first run: a typo in the last cell must not wait days to be named
for cell in $cells; do
  if [ -z "$(plan_commit "$cell")" ]; then
    echo "CELLS: unknown cell $cell (rerun_minority, rerun_anatomies, rerun_weak)" >&2
    exit 2
  fi
done

git worktree prune   # a worktree whose folder was deleted is forgotten, so it can be made again
for cell in $cells; do
  read -r commit dir <<< "$(plan_commit "$cell")"
  [ -e "$dir" ] || git worktree add --detach "$dir" "$commit"
  if ! have=$(git -C "$dir" rev-parse --verify -q HEAD) || [ "$(git -C "$dir" rev-parse --show-toplevel)" != "$(cd "$dir" && pwd -P)" ]; then
    echo "$dir is not a checkout of this repository: remove it, and this script makes the worktree" >&2
    exit 2
  fi
  if [ "$have" != "$(git rev-parse "$commit^{commit}")" ]; then
    echo "$dir holds $(git -C "$dir" rev-parse --short HEAD), not $cell's plan commit $commit: move it or remove it" >&2
    exit 2
  fi
  if ! git -C "$dir" diff --quiet HEAD -- fair_seg_al conf; then
    echo "$dir has uncommitted changes in fair_seg_al/ or conf/: $cell must run its plan's code" >&2
    exit 2
  fi
  echo "== $cell with the code of $commit ($dir)"
  CELL=$cell COMMIT=1 CODE_DIR="$(cd "$dir" && pwd -P)" bash sweeps/powered_replication.sh
done
