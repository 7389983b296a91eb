#!/usr/bin/env bash
# Builds the prebuilt completion programs: programs/<name>.bpf.c -> programs/<name>.bpf.o
# (npm run build:programs). The objects are committed and shipped, so running the bench, the
# examples and the built-in programs needs no compiler (docs/programs.md).
#
#   scripts/build-programs.sh            rebuild programs/*.bpf.o and record the clang version
#   scripts/build-programs.sh <dir>      build into <dir> instead (test/programs/prebuilt.test.ts
#                                        compares those bytes with the committed ones)
#
# The build is deterministic: clang runs from the repository root on relative paths with
# -fdebug-compilation-dir=., so no absolute path reaches the object (DWARF and .BTF.ext name
# programs/<name>.bpf.c and include/ringflow/bpf.h). -g stays: the loader reads .BTF for the
# maps declared in SEC(".maps"). The same clang major version gives the same bytes; the one used
# for the committed objects is in programs/clang-version.
# CLANG=<path> picks another clang.
set -eu
cd "$(dirname "$0")/.."
CLANG="${CLANG:-clang}"
FLAGS=(-O2 -g -target bpf -I include -fdebug-compilation-dir=. -Wall)
out="${1:-programs}"
if ! command -v "$CLANG" >/dev/null 2>&1; then
  echo "build-programs: clang not found ($CLANG); the committed objects in programs/ are used as they are" >&2
  exit 77
fi
mkdir -p "$out"
for src in programs/*.bpf.c; do
  name="$(basename "$src" .c)"
  "$CLANG" "${FLAGS[@]}" -c "$src" -o "$out/$name.o"
done
if [ "$out" = programs ]; then
  "$CLANG" --version | head -n 1 > programs/clang-version
  echo "build-programs: built $(ls programs/*.bpf.o | wc -l) objects with $(cat programs/clang-version)" >&2
fi
