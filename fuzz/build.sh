#!/usr/bin/env bash
# Builds the libFuzzer targets into fuzz/build/:
#   fuzz_model, fuzz_entry   harness + csrc/pybp.c, pybp_f32.c, pybp_net.c,
#                            pybp_model.c, with libFuzzer, ASan and UBSan (any
#                            report aborts)
#   libpybp_model.so         the C model reader (pybp_model.c and the network
#                            rules of pybp_net.c), plain, for fuzz_py.py's
#                            differential check of Python against C
# Needs clang with its compiler-rt (Debian: clang, libclang-rt-14-dev).
# CC_FUZZ picks the compiler (default clang).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
CC=${CC_FUZZ:-clang}
OUT=$HERE/build
mkdir -p "$OUT"

if ! command -v "$CC" >/dev/null; then
  echo "fuzz/build.sh: $CC not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi

# As csrc/Makefile: no contraction into FMA, no fast-math (pybp.c insists).
# -pthread: pybp_sgd_epoch may run worker threads.
COMMON=(-std=c99 -gline-tables-only -fno-omit-frame-pointer -ffp-contract=off -fno-fast-math
        -pthread -fsanitize=address,undefined -fno-sanitize-recover=all
        -I"$ROOT/csrc")
# The kernels' loop comparisons are not worth tracing: trace-cmp on them
# took half of all fuzzing time.  Edge coverage stays, and the spinning
# barrier has none (fuzz/coverage-ignore.txt).
LIBCOV=(-fsanitize=fuzzer-no-link -fno-sanitize-coverage=trace-cmp
        -fsanitize-coverage-ignorelist="$HERE/coverage-ignore.txt")

echo "build pybp.o pybp_f32.o pybp_net.o pybp_model.o"
"$CC" "${COMMON[@]}" "${LIBCOV[@]}" -O1 -c "$ROOT/csrc/pybp.c" -o "$OUT/pybp.o"
"$CC" "${COMMON[@]}" "${LIBCOV[@]}" -O1 -c "$ROOT/csrc/pybp_f32.c" -o "$OUT/pybp_f32.o"
"$CC" "${COMMON[@]}" -fsanitize=fuzzer-no-link -O1 -c "$ROOT/csrc/pybp_net.c" \
  -o "$OUT/pybp_net.o"
"$CC" "${COMMON[@]}" -fsanitize=fuzzer-no-link -O1 -c "$ROOT/csrc/pybp_model.c" \
  -o "$OUT/pybp_model.o"
for t in fuzz_model fuzz_entry; do
  echo "build $t"
  "$CC" "${COMMON[@]}" -fsanitize=fuzzer -O1 "$HERE/$t.c" "$OUT/pybp.o" \
    "$OUT/pybp_f32.o" "$OUT/pybp_net.o" "$OUT/pybp_model.o" -lm -o "$OUT/$t"
done

echo "build libpybp_model.so"
"$CC" -std=c99 -O1 -g -shared -fPIC -I"$ROOT/csrc" "$ROOT/csrc/pybp_model.c" \
  "$ROOT/csrc/pybp_net.c" -o "$OUT/libpybp_model.so"
