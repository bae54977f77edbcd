#!/bin/sh
# Downloads the Debian 12 packages that a machine with a GPU, but without gRPC and the other
# -dev libraries or a package registry, needs to build and test routeserve against its own CUDA
# LibTorch: scripts/gpu-check.sh unpacks them into a prefix there (docs/BENCHMARKS.md, The GPU
# window). Run here, where Debian's mirror is reachable; the folder (git-ignored) travels with
# the tree to the GPU machine.
#
#   scripts/gpu-pack.sh [DIR]     (default gpu-debs; under 64 MiB, checked)
#
# WHICH: the build's -dev packages (gRPC, Protobuf with its compiler, Abseil, yaml-cpp,
#   prometheus-cpp, libmicrohttpd, OpenSSL's headers, Catch2, grpc-proto, pkg-config) with
#   every package they depend on, but the C library and the compiler's runtime (libc6,
#   libstdc++6, libgcc-s1 and their -dev files): those the machine has, and a second copy on
#   the library path would break every program. PyYAML (pure Python) serves the test models'
#   recipe, which the machine's Python runs with its own PyTorch and NumPy.
set -eu

DIR=${1:-gpu-debs}
LIMIT_BYTES=$((64 * 1024 * 1024))
ROOTS="libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libyaml-cpp-dev prometheus-cpp-dev libmicrohttpd-dev libssl-dev catch2 grpc-proto pkgconf
  python3-yaml"
# What the GPU machine keeps its own of (see WHICH), and what Python and Perl bring along that
# no build step uses.
SYSTEM='^(libc6|libc6-dev|libc-dev-bin|linux-libc-dev|libcrypt1|libcrypt-dev|libgcc-s1|libstdc\+\+6|gcc-12-base|rpcsvc-proto|libnsl2|libnsl-dev|libtirpc3|libtirpc-dev|libtirpc-common|python3|python3-minimal|python3\.11.*|libpython3.*|perl|perl-base|perl-modules-.*|libperl.*|dpkg|debconf|tar|mailcap|media-types|mime-support|install-info|readline-common|libreadline8|libncursesw6|libtinfo6|libgdbm.*|libdb5\.3|libsqlite3-0|libselinux1|libpcre2-8-0|libacl1|libmd0|libbz2-1\.0|liblzma5|libexpat1|libffi8|libuuid1)$'

command -v apt-get >/dev/null || { echo "gpu-pack: needs apt-get (Debian 12)" >&2; exit 1; }
# shellcheck disable=SC2086 # the lists split into words
packages=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances $ROOTS |
  grep -v '^ ' | grep -v '<' | sort -u | grep -Ev "$SYSTEM")
mkdir -p "$DIR"
rm -f "$DIR"/*.deb
# shellcheck disable=SC2086
(cd "$DIR" && apt-get download $packages >/dev/null)
bytes=$(du -cb "$DIR"/*.deb | tail -1 | cut -f1)
count=$(ls "$DIR"/*.deb | wc -l)
echo "gpu-pack: $count packages, $((bytes / 1024 / 1024)) MiB in $DIR"
if [ "$bytes" -ge "$LIMIT_BYTES" ]; then
  echo "gpu-pack: $DIR holds $bytes bytes, above the 64 MiB one carry takes" >&2
  exit 1
fi
