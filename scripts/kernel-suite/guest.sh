#!/bin/bash
# Runs inside the guest of scripts/kernel-suite.sh: the checkout is at /tmp/p, results go to
# /tmp/out (the host's output directory). Env from the kernel command line: rffiles, rfbench, rfjobs.
cd /tmp/p || exit 1
uname -r > /tmp/out/uname.txt
echo "=== guest: $(uname -r), $(nproc) cpus, node $(node --version)"
node dist/tools/cli.js info > /tmp/out/info.txt 2>&1
t0=$(date +%s)
# npm test's runner (tools/run-tests.ts: every dist/test file, one at a time), reporting TAP to the
# host; the whole suite less the host-only files (tools/test-tiers.ts), or the files asked for
tier=--tier=kernel
[ -n "${rffiles:-}" ] && tier=
# shellcheck disable=SC2086
RF_TEST_JOBS=${rfjobs:-1} node dist/tools/run-tests.js $tier --test-reporter=tap --test-reporter-destination=/tmp/out/suite.tap \
     --test-reporter=dot --test-reporter-destination=stdout ${rffiles//,/ }
echo "=== suite rc=$? in $(( $(date +%s) - t0 )) s"
if [ "${rfbench:-0}" = 1 ]; then
  t0=$(date +%s)
  node dist/tools/cli.js bench --quick > /tmp/out/bench.txt 2>&1
  echo "(bench --quick rc=$? in $(( $(date +%s) - t0 )) s)" >> /tmp/out/bench.txt
fi
sync
