#!/usr/bin/env bash
# Builds native/test/ring_core_test.c against the ring core alone (native/ring_core.c: no Node,
# no libuv) into $1 (default build/core-test/ring_core_test), with ASan/UBSan when the compiler
# has them. Prints the binary's path. The core must compile on its own: that is the point.
set -eu
cd "$(dirname "$0")/.."
out="${1:-build/core-test/ring_core_test}"
mkdir -p "$(dirname "$out")"
cc="${CC:-cc}"
flags=(-std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE)
san=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
if echo 'int main(void){return 0;}' | "$cc" "${san[@]}" -x c - -o "$out.probe" 2>/dev/null; then
  flags+=("${san[@]}")
fi
rm -f "$out.probe"
"$cc" "${flags[@]}" native/test/ring_core_test.c native/ring_core.c -o "$out"
echo "$out"
