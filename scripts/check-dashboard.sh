#!/bin/sh
# Type-checks the Grafana dashboard against Grafana's published schema (@grafana/schema) with
# TypeScript: the packages pinned in deploy/grafana/schema-check/package-lock.json are installed
# with `npm ci` into WORK_DIR (default build/dashboard-check), once, and again only when the lock
# file changes; then tsc checks the dashboard. Exits non-zero with tsc's messages on a type error.
#
#   scripts/check-dashboard.sh [WORK_DIR [DASHBOARD_JSON]]
#
# Needs Node.js and npm; the registry only for the first install (after it, npm's cache does).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-"$root/build/dashboard-check"}
dashboard=${2:-"$root/deploy/grafana/routeserve.json"}
src="$root/deploy/grafana/schema-check"

[ -f "$dashboard" ] || { echo "check-dashboard: no such file: $dashboard" >&2; exit 2; }
"$root/scripts/npm-install-pinned.sh" "$src" "$work" check-dashboard
work=$(cd "$work" && pwd)
cp "$src/tsconfig.json" "$src/check.ts" "$work/"

# The dashboard as a fresh object literal, line for line (so tsc's line numbers are the JSON's),
# with the type it must have; imports may come last in a module.
{
  printf 'export const dashboard: CheckedDashboard = '
  cat "$dashboard"
  printf ';\nimport type { CheckedDashboard } from "./check";\n'
} >"$work/dashboard.gen.ts"

# tsc names the files relative to $work: name the sources instead.
status=0
out=$(cd "$work" && node node_modules/typescript/bin/tsc -p . --pretty false 2>&1) || status=$?
if [ -n "$out" ]; then
  printf '%s\n' "$out" | sed -e "s|^dashboard\.gen\.ts(|$dashboard(|" -e "s|^check\.ts(|$src/check.ts(|"
fi
if [ "$status" -ne 0 ]; then
  echo "check-dashboard: $dashboard does not type-check against @grafana/schema" >&2
  exit 1
fi
echo "check-dashboard: $dashboard type-checks against @grafana/schema $(cd "$work" && node -p 'require("@grafana/schema/package.json").version')"
