#!/usr/bin/env bash
# Runs the suite's kernel tier (tools/test-tiers.ts) on Debian 12's two kernels, 6.1 and 6.12 LTS,
# under QEMU at the same time (scripts/kernel-suite.sh once per series). Under TCG a guest's tests
# wait on timers more than they compute: two guests at once took 1.1 times as long per test as
# one alone (2026-11-28), so both finish in little more than the longer one. Each series is
# prepared first, one after the other (apt-get installs, the kernel package, the initramfs), so
# no two apt-get runs meet. Each guest's output is printed when both are done, then (last, where a
# log cut in its middle still shows it) each guest's counts and failures; the exit status is the
# number of series that failed.
#   env: as scripts/kernel-suite.sh (KQ, ...); TIMEOUT defaults to 65 minutes a guest here, so that a
#   guest that hangs ends within CI's 90 minutes with what it printed
set -uo pipefail
cd "$(dirname "$0")/.."
export TIMEOUT=${TIMEOUT:-3900}
series=(61 612)
for s in "${series[@]}"; do
  bash scripts/kernel-suite.sh "$s" --prepare || exit 1
done
logs=$(mktemp -d "${TMPDIR:-/tmp}/ringflow-kernel-suites.XXXXXX")
trap 'rm -rf "$logs"' EXIT
pids=()
for s in "${series[@]}"; do
  bash scripts/kernel-suite.sh "$s" > "$logs/$s.log" 2>&1 &
  pids+=($!)
  sleep 5 # (the second boot after the first: less to do at once)
done
failed=0
for i in "${!series[@]}"; do
  wait "${pids[$i]}"
  rc=$?
  echo "=== kernel ${series[$i]} (scripts/kernel-suite.sh ${series[$i]}: exit $rc)"
  cat "$logs/${series[$i]}.log"
  [ $rc -eq 0 ] || failed=$((failed + 1))
done
echo "=== kernel-suites: summary"
for i in "${!series[@]}"; do
  echo "kernel ${series[$i]}: $(grep -m1 -E '^tests [0-9]+:' "$logs/${series[$i]}.log" || echo 'no totals (the suite did not finish)')"
  grep -E '^FAIL  ' "$logs/${series[$i]}.log" | sed "s/^/  ${series[$i]}: /" || true
done
exit $failed
