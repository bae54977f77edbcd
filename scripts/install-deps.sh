#!/bin/sh
# Installs the Debian 12 packages routeserve needs to build and test, and nothing when they are
# all present already. Runs as root (or through sudo when it is there).
#
#   scripts/install-deps.sh          what `make build` and `make test` need
#   scripts/install-deps.sh bench    that, and what the benchmark scripts in bench/ need
#   scripts/install-deps.sh deploy   only what `make check-deploy` needs (no build)
#   scripts/install-deps.sh fuzz     only what `make fuzz` needs: clang with libFuzzer, and the
#                                    protobuf and Abseil that api/ and routing/ build on
#   scripts/install-deps.sh architecture  only what `make architecture` and
#                                    `make check-architecture` need: Graphviz and its font
set -eu

# LibTorch runs its matrix products on whatever libblas.so.3 is: OpenBLAS, in its pthread build,
# the one docs/BENCHMARKS.md measured (the OpenMP build was left out when its thread-local
# storage kept prometheus-cpp's web server from starting, a server /metrics no longer uses).
# Python's torch, numpy and yaml serve the model's training recipe and its tests.
# prometheus-cpp holds the metric families and libmicrohttpd serves /metrics; the prometheus
# package brings promtool and the Prometheus server that the metrics tests run. OpenSSL's
# library checks the TLS files at start-up, and its command makes the TLS tests' certificates
# (a fresh Debian 12 may lack the command).
PACKAGES="
  g++ make cmake pkg-config
  libabsl-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc grpc-proto
  libssl-dev openssl
  libyaml-cpp-dev
  prometheus-cpp-dev libmicrohttpd-dev prometheus
  catch2
  libtorch-dev libopenblas0-pthread
  python3 python3-torch python3-numpy python3-yaml
"
# The benchmarks (`make bench-deps`): the plain Python gRPC server routeserve is compared with,
# h2load (the independent load generator of the cross-check) and gnuplot (the plots).
if [ "${1:-}" = "bench" ]; then
  PACKAGES="$PACKAGES python3-grpcio python3-protobuf nghttp2-client gnuplot-nox"
fi
# The deployment checks (`make check-deploy`): Python's yaml, yamllint, and Node.js with npm
# for the schema check and dockerfilelint. npm is looked for as a command, not as a package:
# another Node.js (NodeSource's bundles npm and conflicts with Debian's) is kept as it is.
if [ "${1:-}" = "deploy" ]; then
  PACKAGES="python3 python3-yaml yamllint"
  command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"
fi

# The fuzz target (`make fuzz`): clang; libFuzzer and the sanitizers' runtimes are in
# libclang-rt-14-dev, which clang only recommends. No gRPC, no LibTorch.
if [ "${1:-}" = "fuzz" ]; then
  PACKAGES="make cmake clang libclang-rt-14-dev libabsl-dev libprotobuf-dev protobuf-compiler"
fi

# The architecture picture (`make architecture`, `make check-architecture`): Graphviz's dot,
# and the font docs/architecture.dot names: dot measures the labels' text with it, so that
# another font would move every box and the committed SVG would no longer be what dot renders.
if [ "${1:-}" = "architecture" ]; then
  PACKAGES="make graphviz fonts-dejavu-core"
fi

missing=""
for package in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $package"
  fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing$missing"
if [ "$(id -u)" -eq 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1; then
  as_root="sudo"
else
  echo "install-deps: missing packages:$missing; run 'make deps' as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$as_root apt-get update -q
# shellcheck disable=SC2086 # the list is meant to split into words
$as_root apt-get install -y -q --no-install-recommends $missing
