#!/bin/sh
# `make image-test`: builds the CPU image from the Dockerfile as it is, with Debian's podman and
# no registry, runs it as the Kubernetes Deployment does (its non-root user, a read-only root
# filesystem, a model repository mounted read-only at /srv/models, as the cpu-repository
# overlay mounts it) and checks it over published ports: readiness, one Suggest, /metrics, and
# a new model version swapped in by SIGHUP through the mounted repository. docs/DEPLOY.md has
# its time and result.
#
#   scripts/image-test.sh [WORK_DIR]     (default build-image; as root)
#
# No registry is reached: the Dockerfile's base images (debian:12, debian:12-slim) are made
# with debootstrap from the Debian mirror apt uses here, imported under those names, and the
# build runs with --pull=never; the build's apt-get reaches that mirror. Podman runs with the
# vfs storage driver, runc and cgroupfs, which need no kernel features a CI container may lack.
# The base image and podman's storage are kept in WORK_DIR: a second run builds only what
# changed.
set -eu

WORK=$(realpath -m "${1:-build-image}")
IMAGE=localhost/routeserve:image-test-cpu
CONTAINER=routeserve-image-test
GRPC_PORT=${IMAGE_TEST_GRPC_PORT:-50151}
METRICS_PORT=${IMAGE_TEST_METRICS_PORT:-9564}
CLI=${CLI:-build/routeserve-cli}

say() { echo "image-test: $*"; }
fail() { echo "image-test: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (podman and debootstrap)"
[ -x "$CLI" ] || fail "$CLI is missing: run 'make build' first"
for package in podman runc debootstrap; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    say "installing $package"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$package" \
      >/dev/null
  fi
done
mkdir -p "$WORK"

# Podman's settings for a machine without systemd or user namespaces.
cat >"$WORK/containers.conf" <<'EOF'
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
EOF
export CONTAINERS_CONF="$WORK/containers.conf"
podman() {
  command podman --root "$WORK/storage" --runroot "$WORK/run" --storage-driver vfs \
    --runtime runc "$@"
}

started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started )) s"; }

# 1. The base images, from debootstrap.
if ! podman image exists docker.io/library/debian:12; then
  mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  mirror=${mirror:-http://deb.debian.org/debian}
  say "making the debian:12 base image with debootstrap from $mirror"
  rm -rf "$WORK/rootfs"
  debootstrap --variant=minbase bookworm "$WORK/rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
    fail "debootstrap (its log: $WORK/debootstrap.log)"
  tar -C "$WORK/rootfs" -c . | podman import - docker.io/library/debian:12 >/dev/null
  podman tag docker.io/library/debian:12 docker.io/library/debian:12-slim
  rm -rf "$WORK/rootfs"
fi
say "base images ready ($(elapsed))"

# 2. The CPU image, from the Dockerfile unchanged.
say "building $IMAGE (--target cpu)"
podman build --pull=never --isolation chroot --target cpu \
  --build-arg ROUTESERVE_REVISION="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" \
  -t "$IMAGE" . >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; fail "podman build"; }
say "image built ($(elapsed)): $(podman image inspect --format '{{.Size}}' "$IMAGE") bytes"

# 3. A repository holding the shipped model as couriers/1, mounted read-only; the container runs
#    as the image's user with a read-only root filesystem, as the Deployment does.
repository="$WORK/repository"
rm -rf "$repository" && mkdir -p "$repository/couriers"
cp -r models/route-v1 "$repository/couriers/1"
chmod -R a+rX "$repository"
podman rm -f "$CONTAINER" >/dev/null 2>&1 || true
cleanup() { podman rm -f "$CONTAINER" >/dev/null 2>&1 || true; }
trap cleanup EXIT
podman run -d --name "$CONTAINER" --read-only --user 10001:10001 \
  -p "127.0.0.1:$GRPC_PORT:50051" -p "127.0.0.1:$METRICS_PORT:9464" \
  -v "$repository:/srv/models:ro" "$IMAGE" \
  --set=server.address=0.0.0.0:50051 --set=metrics.address=0.0.0.0:9464 \
  --set=model.path= --set=model.repository=/srv/models --set=model.name=couriers >/dev/null
logs() { podman logs "$CONTAINER" 2>&1; }
await_log() {  # PATTERN SECONDS
  i=0
  until logs | grep -q "$1"; do
    i=$((i + 1))
    [ "$i" -le "$2" ] || { logs | tail -20; fail "no '$1' in the log after $2 s"; }
    sleep 1
  done
}
await_log "readiness SERVING" 120
[ "$(podman inspect --format '{{.Config.User}}' "$CONTAINER")" = "10001:10001" ] ||
  fail "the container does not run as 10001"
say "serving ($(elapsed))"

# 4. Readiness over gRPC, one Suggest, and /metrics, through the published ports.
target="127.0.0.1:$GRPC_PORT"
"$CLI" --target "$target" --health routeserve.v1.RouteService >/dev/null ||
  fail "readiness is not SERVING"
suggest() {
  "$CLI" --target "$target" --generate 12 --seed "$1" |
    python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["model_version"], len(r["route"]["steps"]))'
}
answer=$(suggest 1) || fail "Suggest"
set -- $answer
case "$1" in couriers/1-*) ;; *) fail "Suggest answered by '$1', not couriers/1";; esac
[ "$2" -eq 12 ] || fail "a route of $2 steps for 12 stops"
python3 - "$METRICS_PORT" <<'EOF' || fail "/metrics"
import sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10).read().decode()
assert 'routeserve_model_info{' in text and 'name="couriers"' in text, "no model_info"
EOF
say "health, Suggest ($1) and /metrics answer ($(elapsed))"

# 5. A new version through the mounted repository, swapped in by SIGHUP.
cp -r models/route-v1 "$repository/couriers/2.partial"
chmod -R a+rX "$repository/couriers/2.partial"
mv "$repository/couriers/2.partial" "$repository/couriers/2"
podman kill --signal HUP "$CONTAINER" >/dev/null
await_log "couriers/2-.* swapped in" 120
answer=$(suggest 2) || fail "Suggest after the swap"
set -- $answer
case "$1" in couriers/2-*) ;; *) fail "after the swap, Suggest answered by '$1'";; esac
say "couriers/2 swapped in by SIGHUP and answering ($(elapsed))"
say "passed in $(elapsed)"
