#!/usr/bin/env bash
# fuzz/run.sh TARGET SECONDS [libFuzzer options...]
#
# Runs one fuzz target for a time box on its corpus.  TARGET is fuzz_model or
# fuzz_entry (C, libFuzzer) or py_model, py_idx, py_csv, py_dataset,
# py_checkpoint (Python, atheris).  Seeds are read from fuzz/corpus/TARGET (never written); new
# inputs go to fuzz/build/corpus/TARGET (FUZZ_WORK=DIR: DIR/TARGET), and
# are replayed by later runs; crash files go to fuzz/build/artifacts/TARGET/.
# Exits non-zero on a crash.
#
# The C binaries are rebuilt when a source is newer.  The Python targets run
# under fuzz/build/venv (created with atheris on first use); FUZZ_PYTHON
# names another interpreter, and if atheris cannot be installed they fall
# back to fuzz_py.py's random-mutation loop.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
OUT=$HERE/build

if [ $# -lt 2 ]; then
  echo "usage: fuzz/run.sh TARGET SECONDS [libFuzzer options...]" >&2
  exit 2
fi
TARGET=$1
SECONDS_=$2
shift 2

WORK=${FUZZ_WORK:-$OUT/corpus}/$TARGET
SEEDS=$HERE/corpus/$TARGET
ART=$OUT/artifacts/$TARGET
mkdir -p "$WORK" "$ART" "$SEEDS"
OPTS=(-max_total_time="$SECONDS_" -print_final_stats=1 -artifact_prefix="$ART/"
      -timeout=30 -rss_limit_mb=4096)

stale() {  # whether binary $1 is missing or older than any source
  local bin=$1 src
  [ -x "$bin" ] || return 0
  for src in "$ROOT"/csrc/*.c "$ROOT"/csrc/*.h "$HERE"/*.c "$HERE/build.sh" \
             "$HERE/coverage-ignore.txt"; do
    [ "$src" -nt "$bin" ] && return 0
  done
  return 1
}

python_for_fuzz() {
  if [ -n "${FUZZ_PYTHON:-}" ]; then
    echo "$FUZZ_PYTHON"
    return
  fi
  local venv=$OUT/venv
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import atheris" 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    if ! "$venv/bin/python" -m pip install -q atheris >&2 2>"$OUT/atheris-install.log"; then
      echo "fuzz/run.sh: atheris did not install (fuzz/build/atheris-install.log);" \
           "using the random-mutation fallback" >&2
    fi
  fi
  echo "$venv/bin/python"
}

case $TARGET in
  fuzz_model|fuzz_entry)
    if stale "$OUT/$TARGET"; then
      "$HERE/build.sh" >&2
    fi
    # Leaks are bugs too (LeakSanitizer runs at the end of each input).
    exec "$OUT/$TARGET" "${OPTS[@]}" "$@" "$WORK" "$SEEDS"
    ;;
  py_model|py_idx|py_csv|py_dataset|py_checkpoint)
    if [ "$TARGET" = py_model ] && stale "$OUT/libpybp_model.so"; then
      "$HERE/build.sh" >&2 || echo "fuzz/run.sh: no C build; py_model runs without the C comparison" >&2
    fi
    PY=$(python_for_fuzz)
    # The targets write their input to a file in TMPDIR: keep it private.
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/pybp-fuzz.XXXXXX")
    trap 'rm -rf "$TMP"' EXIT
    TMPDIR=$TMP "$PY" "$HERE/fuzz_py.py" "$TARGET" "${OPTS[@]}" "$@" "$WORK" "$SEEDS"
    ;;
  *)
    echo "fuzz/run.sh: unknown target $TARGET" >&2
    exit 2
    ;;
esac
