#!/usr/bin/env bash
# Builds the program policy's libFuzzer target (native/fuzz/policy.c with native/policy.c and
# native/engine_policy.c: no Node at run time) with ASan/UBSan into build/policy-fuzz/, writes the
# serialised policy next to it, and with "run [seconds]" fuzzes for that long (default 60).
#   bash scripts/build-policy-fuzz.sh run 600
set -eu
cd "$(dirname "$0")/.."
out=build/policy-fuzz
mkdir -p "$out/corpus"
inc=()
[ -f /usr/include/node/node_api.h ] && inc+=(-I/usr/include/node)
clang -std=gnu11 -O1 -g -Wall -Wextra -D_GNU_SOURCE "${inc[@]}" \
  -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
  native/fuzz/policy.c native/policy.c native/engine_policy.c -o "$out/policy_fuzz"
node dist/tools/fuzz-policy.js --emit-policy "$out/policy.bin" >/dev/null
# seeds: the policy itself (mode 'P') and one SQE per op of it
printf 'P' | cat - "$out/policy.bin" > "$out/corpus/policy"
echo "$out/policy_fuzz"
if [ "${1:-}" = run ]; then
  RF_POLICY="$out/policy.bin" "$out/policy_fuzz" -max_total_time="${2:-60}" -max_len=16384 "$out/corpus"
fi
