#!/bin/sh
# Installs the npm packages pinned by SRC_DIR's package.json and package-lock.json into WORK_DIR
# with `npm ci`, once, and again only when the lock file changes (a copy of the lock installed
# last stands beside them; it is written only after a complete install). For the offline checks
# that run Node.js: scripts/check-dashboard.sh and scripts/check-deploy.sh.
#
#   scripts/npm-install-pinned.sh SRC_DIR WORK_DIR LABEL     (NPM overrides the npm command)
#
# LABEL names the caller in the line it prints when it installs.
set -eu

src=$1
work=$2
label=$3
npm=${NPM:-npm}

mkdir -p "$work"
if [ ! -d "$work/node_modules" ] || ! cmp -s "$src/package-lock.json" "$work/.installed-lock.json"; then
  echo "$label: installing the pinned npm packages of $src into $work"
  cp "$src/package.json" "$src/package-lock.json" "$work/"
  rm -f "$work/.installed-lock.json"
  (cd "$work" && "$npm" ci --no-audit --no-fund --prefer-offline --loglevel=error)
  cp "$src/package-lock.json" "$work/.installed-lock.json"
fi
