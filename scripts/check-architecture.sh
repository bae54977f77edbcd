#!/bin/sh
# CI's check of the architecture picture (`make check-architecture`): docs/architecture.svg must
# be what docs/architecture.dot renders to, and two renders must agree byte for byte (so that a
# difference is always a change of the source, never of the run). Installs Graphviz when missing
# (scripts/install-deps.sh architecture); needs nothing of the build.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh architecture
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
scripts/render-architecture.sh "$work/first.svg"
scripts/render-architecture.sh "$work/second.svg"
if ! cmp -s "$work/first.svg" "$work/second.svg"; then
  echo "check-architecture: two renders of docs/architecture.dot differ:" >&2
  diff "$work/first.svg" "$work/second.svg" | head -20 >&2
  exit 1
fi
if ! cmp -s "$work/first.svg" docs/architecture.svg; then
  echo "check-architecture: docs/architecture.svg is not what docs/architecture.dot renders" \
       "to; run 'make architecture' and commit both:" >&2
  diff docs/architecture.svg "$work/first.svg" | head -20 >&2
  exit 1
fi
echo "check-architecture: docs/architecture.svg is docs/architecture.dot's rendering"
