#!/usr/bin/env bash
# Builds the native addon with node-gyp against the local Node headers, so no header download
# is needed: npm's configured nodedir if set, else /usr when it holds node_api.h (Debian/NodeSource
# layouts), else node-gyp's own default.
set -eu
cd "$(dirname "$0")/.."
args=()
if [ -n "${npm_config_nodedir:-}" ]; then
  args+=("--nodedir=${npm_config_nodedir}")
elif [ -f /usr/include/node/node_api.h ]; then
  args+=("--nodedir=/usr")
fi
gyp="node_modules/.bin/node-gyp"
[ -x "$gyp" ] || gyp="node-gyp"
exec "$gyp" "${1:-rebuild}" "${args[@]}"
