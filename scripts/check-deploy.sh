#!/bin/sh
# Checks the deployment files offline, without a cluster, Docker or the build (`make check-deploy`,
# docs/DEPLOY.md):
#   1. yamllint --strict over deploy/ and config/ (.yamllint): syntax, duplicate keys, style;
#   2. scripts/check-deploy.py, after its reference checks' test (scripts/check_deploy_test.py):
#      renders every overlay with `kubectl kustomize` and checks the objects against each other,
#      the config and the code (ports, probes, config keys, metric names), and the Dockerfile
#      against them;
#   3. the rendered objects against Kubernetes' and the Prometheus Operator's schemas
#      (deploy/check-deploy/schema-check.mjs), after its own test;
#   4. dockerfilelint over the Dockerfile (.dockerfilelintrc).
# Runs every step, then exits 1 naming those that failed.
#
#   scripts/check-deploy.sh [WORK_DIR]    (default build/deploy-check)
#
# Installs what is missing first: yamllint, Python's yaml and, where there is no npm, Debian's
# Node.js and npm (scripts/install-deps.sh deploy); the npm packages pinned in
# deploy/check-deploy/package-lock.json with `npm ci` into WORK_DIR, again only when the lock
# file changes. kubectl it does not install: without one it fails, saying what to install.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-"$root/build/deploy-check"}
src="$root/deploy/check-deploy"

"$root/scripts/install-deps.sh" deploy
if ! command -v kubectl >/dev/null 2>&1; then
  cat >&2 <<'EOF'
check-deploy: kubectl not found. It renders the overlays (`kubectl kustomize`); they are checked
with kubectl 1.32 (kustomize v5.5). Install kubectl from the Kubernetes project's packages
(https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/), not Debian 12's
kubernetes-client: its kubectl 1.20 embeds an old kustomize that cannot render them (it fails on
the overlays' `patches:`).
EOF
  exit 1
fi

"$root/scripts/npm-install-pinned.sh" "$src" "$work" check-deploy
work=$(cd "$work" && pwd)
# Next to the packages, which they import.
cp "$src/schema-check.mjs" "$src/schema-check.test.mjs" "$work/"

failed=""
step() {  # step NAME COMMAND...: runs it, and remembers NAME when it fails
  name=$1
  shift
  "$@" || failed="$failed $name"
}

cd "$root"
step yamllint yamllint --strict -c .yamllint deploy config
rm -rf "$work/rendered"
step check_deploy_test python3 -B scripts/check_deploy_test.py --quiet
step check-deploy.py scripts/check-deploy.py --rendered "$work/rendered"
step schema-check.test node "$work/schema-check.test.mjs"
if ls "$work"/rendered/*.yaml >/dev/null 2>&1; then
  step schema-check node "$work/schema-check.mjs" "$work"/rendered/*.yaml
else
  failed="$failed schema-check(nothing-rendered)"
fi
# dockerfilelint prints a report either way; its exit status is the number of issues.
step dockerfilelint "$work/node_modules/.bin/dockerfilelint" -c "$root" Dockerfile

if [ -n "$failed" ]; then
  echo "check-deploy: FAILED:$failed" >&2
  exit 1
fi
echo "check-deploy: ok (yamllint, overlays rendered and checked, schemas, dockerfilelint)"
