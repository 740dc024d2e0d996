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

# audit_first SWEEP ARGS...: the pipeline audit (python -m fair_seg_al.audit, docs/audit.md) on the
# sweep's config before its first chunk, into logs/al/multiruns/SWEEP/audit/. A failed audit stops
# the sweep: the instrument would treat the groups differently. AUDIT=warn goes on, AUDIT=0 skips.
audit_first() {
  local sweep=$1 out
  shift
  out="$ROOT/logs/al/multiruns/$sweep/audit"
  [ "${AUDIT:-1}" = 0 ] && return 0
  if [ ! -d "$CODE_DIR/fair_seg_al/audit" ]; then
    echo "== audit: the code in $CODE_DIR predates the pipeline audit; not audited" >&2
    return 0
  fi
  echo "== audit of $sweep's pipeline ($*)"
  if (cd "$CODE_DIR" && FAIR_SEG_AL_ROOT="$ROOT" PYTHONPATH="$CODE_DIR" "$PY" -m fair_seg_al.audit "$@" --out "$out"); then
    return 0
  fi
  if [ "${AUDIT:-1}" = warn ]; then
    echo "== audit failed ($out/audit.md); AUDIT=warn: the sweep goes on" >&2
    return 0
  fi
  echo "== audit failed ($out/audit.md): fix the pipeline first, or rerun with AUDIT=warn (or AUDIT=0)" >&2
  return 1
}

# seed_finished NAME SEED LOG...: true if a LOG has a finished chunk of NAME holding SEED, whatever
# the chunk's size ("seeds 4 took", "seeds 3,4 took"), so a sweep can change CHUNK on a restart
seed_finished() {
  local name seed=$2 log
  name=$(printf '%s' "$1" | sed 's/[][\.*^$+?(){}|/]/\\&/g')   # the name literally, not as a pattern
  shift 2
  for log in "$@"; do
    [ -f "$log" ] && grep -Eq "^== $name chunk: seeds ([0-9]+,)*$seed(,[0-9]+)* took " "$log" && return 0
  done
  return 1
}

# run_chunks NAME SWEEP ARCHIVE JOB [MESSAGE]: for each chunk of $SEEDS, JOB "seed=a,b" runs its
# jobs; NAME labels the chunk in chunks.log, MESSAGE (default NAME) starts the commit message.
# Seeds already finished (logged in any chunk, here or in the archive) are skipped unless FORCE=1;
# the rest are chunked.
run_chunks() {
  local name=$1 sweep=$2 archive=$3 job=$4 message=${5:-$1} chunk seeds start code log seed todo=()
  log="logs/al/multiruns/$sweep/chunks.log"
  if ! [ "$CHUNK" -ge 1 ] 2>/dev/null; then echo "CHUNK must be a whole number >= 1 (got $CHUNK)" >&2; return 2; fi
  # a finished seed is not walked again on a restart: re-checking every finished run of a long
  # sweep costs minutes per seed (FORCE=1 does it). The archive's log counts too (a fresh clone)
  for seed in $SEEDS; do
    if [ "${FORCE:-0}" != 1 ] && seed_finished "$name" "$seed" "$log" "$archive/chunks.log"; then
      echo "== $name: seed $seed already finished ($log)"
    else
      todo+=("$seed")
    fi
  done
  set -- ${todo[@]+"${todo[@]}"}
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
