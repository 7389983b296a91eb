#!/usr/bin/env bash
# Installs the Debian packages the test suite and benchmarks use, when they are missing:
#   clang  - compiles the eBPF C test programs (clang -target bpf)
#   fio    - the C reference in the benchmarks (optional there; skipped if unavailable)
#   libclang-rt-dev - clang's runtime libraries with libFuzzer (scripts/fuzz-native.sh)
# Safe to run repeatedly; does nothing when everything is present. Needs root for apt-get,
# otherwise it only reports what is missing (the tests that need it then say why they skip).
# None of them is needed to run ringflow: the built-in programs ship prebuilt (programs/*.bpf.o).
# RINGFLOW_NO_DEPS=1 reports what is missing and installs nothing (`RINGFLOW_NO_DEPS=1 npm test`
# runs the suite as a machine without clang sees it: the tests that compile C skip, saying so).
set -u
missing=()
command -v clang >/dev/null 2>&1 || missing+=(clang)
command -v fio   >/dev/null 2>&1 || missing+=(fio)
# libFuzzer: clang's runtime directory holds libclang_rt.fuzzer-<arch>.a once libclang-rt-dev is in
if ! command -v clang >/dev/null 2>&1 || [ ! -e "$(clang -print-runtime-dir 2>/dev/null)/libclang_rt.fuzzer-$(uname -m).a" ]; then
  missing+=(libclang-rt-dev)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ -n "${RINGFLOW_NO_DEPS:-}" ] && [ "${RINGFLOW_NO_DEPS}" != 0 ]; then
  echo "ensure-deps: missing ${missing[*]}; RINGFLOW_NO_DEPS is set, installing nothing (the tests that need them skip, saying why)" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-deps: missing ${missing[*]} (not root or no apt-get; install them to run every test)" >&2
  exit 0
fi
echo "ensure-deps: installing ${missing[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
  || echo "ensure-deps: apt-get install ${missing[*]} failed" >&2
exit 0
