# shellcheck shell=bash
# Sourced by the chunk runners (powered_replication.sh, uncertainty_matched.sh): a sweep's seeds
# in resumable chunks; after each chunk its time and code version go to the sweep's chunks.log,
# its finished runs are archived into the docs, the log is merged there (never overwritten: the
# archive keeps other machines' lines) and, with COMMIT=1, the archive is committed, so a stopped
# machine loses at most one chunk. Relaunching skips finished jobs.
#   SEEDS="0 1 2"  CHUNK=2  CODE_DIR=DIR (jobs run that checkout's code; logs, cohorts, archive stay here)
ROOT=$(pwd)
PY=${PY:-$ROOT/.venv/bin/python}
CODE_DIR=${CODE_DIR:-$ROOT}
CHUNK=${CHUNK:-2}

# fsa_main ARGS...: one multirun of fair_seg_al.main with CODE_DIR's code
fsa_main() { (cd "$CODE_DIR" && FAIR_SEG_AL_ROOT="$ROOT" PYTHONPATH="$CODE_DIR" "$PY" -m fair_seg_al.main -m "$@"); }

# run_chunks NAME SWEEP ARCHIVE JOB [MESSAGE]: for each chunk of $SEEDS, JOB "seed=a,b" runs its
# jobs; NAME labels the chunk in chunks.log, MESSAGE (default NAME) starts the commit message
run_chunks() {
  local name=$1 sweep=$2 archive=$3 job=$4 message=${5:-$1} chunk seeds start code log
  log="logs/al/multiruns/$sweep/chunks.log"
  set -- $SEEDS
  while [ $# -gt 0 ]; do
    chunk=()
    for _ in $(seq "$CHUNK"); do [ $# -gt 0 ] && { chunk+=("$1"); shift; }; done
    seeds=$(IFS=,; echo "${chunk[*]}")
    echo "== $name chunk: seeds $seeds ($(date -u +%FT%TZ))"
    start=$(date +%s)
    code="$(git -C "$CODE_DIR" rev-parse --short HEAD)$(git -C "$CODE_DIR" diff --quiet HEAD -- fair_seg_al conf || echo '+uncommitted')"
    "$job" "seed=$seeds"
    mkdir -p "$(dirname "$log")"
    echo "== $name chunk: seeds $seeds took $(( $(date +%s) - start )) s (code $code)" | tee -a "$log"
    "$PY" -m fair_seg_al.analysis.archive "logs/al/multiruns/$sweep" "$archive"
    touch "$archive/chunks.log"
    grep -vxF -f "$archive/chunks.log" "$log" >> "$archive/chunks.log" || true
    if [ "${COMMIT:-0}" = 1 ]; then
      git add "$archive"
      git commit -q -m "$message: raw outputs of seeds $seeds" -- "$archive" || true
    fi
  done
}
