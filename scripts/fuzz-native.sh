#!/usr/bin/env bash
# Builds and runs the native fuzz targets: every native/fuzz/*.c, with libFuzzer, ASan and UBSan
# (Debian's clang; libFuzzer comes with libclang-rt-dev, which scripts/ensure-deps.sh installs).
#
# A target is one C file defining LLVMFuzzerTestOneInput, with a line
#   fuzz-sources: native/bpf/interp.c native/bpf/jit.c ...
# listing what it links (paths from the repository root). Adding a target is dropping such a file
# into native/fuzz/ (and, if it has any, seed inputs into native/fuzz/seeds/<name>/ and a
# libFuzzer dictionary native/fuzz/<name>.dict).
#
# usage: scripts/fuzz-native.sh [--seconds N] [--only NAME] [--build-only] [-- libFuzzer options]
#   --seconds N   run each target N seconds (default 10: the short run CI makes)
#   --only NAME   build and run only native/fuzz/NAME.c
#   --build-only  build, do not run
# Output: build/fuzz/<name>/ holds the binary, the corpus the runs grow (kept between runs) and
# any crash reproducer (crash-*, leak-*, timeout-*); rerun one with build/fuzz/<name>/<name> FILE.
# Each target ends with one line: "fuzz <name>: <runs> runs in <s> s, cov <edges>, ft <features>,
# corpus <inputs>, clean" (or "FOUND A CRASH").
# Exit status: 0 every target clean; 1 a target crashed or did not build; 77 no clang with
# libFuzzer here (the reason is printed; the JS test skips on it).
set -u
cd "$(dirname "$0")/.."
seconds=10
only=""
build_only=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --build-only) build_only=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "fuzz-native: unknown argument $1 (see the usage at the top of $0)" >&2; exit 1 ;;
  esac
done
case "$seconds" in ''|*[!0-9]*) echo "fuzz-native: --seconds takes a whole number (got $seconds)" >&2; exit 1 ;; esac

CC="${CC_FUZZ:-clang}"
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "fuzz-native: no $CC (install clang and libclang-rt-dev: scripts/ensure-deps.sh does as root)" >&2
  exit 77
fi
probe_dir="$(mktemp -d)"
trap 'rm -rf "$probe_dir"' EXIT
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }\n' > "$probe_dir/p.c"
if ! "$CC" -fsanitize=fuzzer,address,undefined "$probe_dir/p.c" -o "$probe_dir/p" 2>"$probe_dir/err"; then
  echo "fuzz-native: $CC cannot link -fsanitize=fuzzer,address,undefined (libFuzzer missing: apt-get install libclang-rt-dev): $(head -c 300 "$probe_dir/err")" >&2
  exit 77
fi

CFLAGS=(-std=gnu11 -g -O1 -D_GNU_SOURCE -fno-strict-aliasing -fno-omit-frame-pointer
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Wall -Wextra -Wno-unused-parameter)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_stack_use_after_return=0:abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# build_target NAME DIR SOURCES...: compiles the sources in parallel (one per core), then links.
build_target() {
  local name="$1" dir="$2" pids=() objs=() f o ok=0
  shift 2
  rm -f "$dir"/*.o "$dir"/*.log
  for f in "$@"; do
    o="$dir/$(echo "$f" | tr '/' '_' | sed 's/\.c$/.o/')"
    objs+=("$o")
    "$CC" "${CFLAGS[@]}" -c -o "$o" "$f" 2>"$o.log" &
    pids+=($!)
    if [ ${#pids[@]} -ge "$(nproc 2>/dev/null || echo 2)" ]; then wait "${pids[0]}" || ok=1; pids=("${pids[@]:1}"); fi
  done
  for p in "${pids[@]}"; do wait "$p" || ok=1; done
  [ $ok -eq 0 ] && "$CC" "${CFLAGS[@]}" -o "$dir/$name" "${objs[@]}" 2>"$dir/link.log"
}

status=0
targets=0
# the program policy src/ops/policy.ts derives from the opcode table, for the targets that load it
# (policy, engine_routing); needs the compiled TypeScript (npm run build)
mkdir -p build/fuzz
if [ -f dist/tools/fuzz-policy.js ] && node dist/tools/fuzz-policy.js --emit-policy build/fuzz/policy.bin >/dev/null; then
  export RF_POLICY="$PWD/build/fuzz/policy.bin"
else
  echo "fuzz: no serialised policy (run npm run build first); policy-loading targets may refuse to run" >&2
fi
for src in native/fuzz/*.c; do
  [ -e "$src" ] || continue
  name="$(basename "$src" .c)"
  [ -n "$only" ] && [ "$only" != "$name" ] && continue
  targets=$((targets + 1))
  sources="$(sed -n 's/.*fuzz-sources:\(.*\)$/\1/p' "$src" | head -1)"
  if [ -z "$sources" ]; then
    echo "fuzz $name: $src has no 'fuzz-sources:' line" >&2
    status=1
    continue
  fi
  dir="build/fuzz/$name"
  mkdir -p "$dir/corpus"
  # built already, and no C file under native/ (nor this script) changed since: no rebuild
  if [ -x "$dir/$name" ] && [ -z "$(find native "$0" -newer "$dir/$name" -name '*.[ch]' -o -newer "$dir/$name" -name "$(basename "$0")" 2>/dev/null | head -1)" ]; then
    :
  elif ! build_target "$name" "$dir" "$src" $sources; then
    echo "fuzz $name: build failed:" >&2
    cat "$dir"/*.log >&2
    status=1
    continue
  fi
  [ "$build_only" = 1 ] && { echo "fuzz $name: built $dir/$name"; continue; }
  seeds=()
  [ -d "native/fuzz/seeds/$name" ] && seeds=("native/fuzz/seeds/$name")
  dict=()
  [ -f "native/fuzz/$name.dict" ] && dict=("-dict=native/fuzz/$name.dict")
  "$dir/$name" -max_total_time="$seconds" -print_final_stats=1 -timeout=20 -rss_limit_mb=2048 \
    -artifact_prefix="$dir/" "${dict[@]}" "${extra[@]}" "$dir/corpus" "${seeds[@]}" >"$dir/run.log" 2>&1
  rc=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/run.log" | tail -1)"
  secs="$(sed -n 's/^stat::.*Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p;s/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$dir/run.log" | tail -1)"
  last="$(grep -E '^#[0-9]+' "$dir/run.log" | tail -1)"
  cov="$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')"
  ft="$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')"
  corp="$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')"
  if [ $rc -eq 0 ]; then
    echo "fuzz $name: ${runs:-?} runs in ${secs:-$seconds} s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, clean"
  else
    echo "fuzz $name: FOUND A CRASH (exit $rc) after ${runs:-?} runs; log $dir/run.log; reproducer:" >&2
    ls "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* 2>/dev/null | tail -3 >&2
    grep -E 'ERROR|runtime error|differ|SUMMARY' "$dir/run.log" | head -5 >&2
    status=1
  fi
done
[ $targets -eq 0 ] && { echo "fuzz-native: no target${only:+ named $only} in native/fuzz" >&2; exit 1; }
exit $status
