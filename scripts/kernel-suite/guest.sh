#!/bin/bash
# Runs inside the guest of scripts/kernel-suite.sh: the checkout is at /tmp/p, results go to
# /tmp/out (the host's output directory). Env from the kernel command line: rffiles, rfbench.
cd /tmp/p || exit 1
uname -r > /tmp/out/uname.txt
echo "=== guest: $(uname -r), $(nproc) cpus, node $(node --version)"
node dist/tools/cli.js info > /tmp/out/info.txt 2>&1
if [ -n "${rffiles:-}" ]; then files=${rffiles//,/ }; else files=$(find dist/test -name '*.test.js' | sort); fi
t0=$(date +%s)
# shellcheck disable=SC2086
node --test --test-concurrency=1 --test-reporter=tap --test-reporter-destination=/tmp/out/suite.tap \
     --test-reporter=dot --test-reporter-destination=stdout $files
echo "=== suite rc=$? in $(( $(date +%s) - t0 )) s"
if [ "${rfbench:-0}" = 1 ]; then
  t0=$(date +%s)
  node dist/tools/cli.js bench --quick > /tmp/out/bench.txt 2>&1
  echo "(bench --quick rc=$? in $(( $(date +%s) - t0 )) s)" >> /tmp/out/bench.txt
fi
sync
