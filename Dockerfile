# syntax=docker/dockerfile:1
# routeserve's container images (docs/DEPLOY.md), two targets:
#
#   docker build --target cpu -t REGISTRY/routeserve:VERSION-cpu .
#   docker build --target gpu -t REGISTRY/routeserve:VERSION-gpu .
#
# Each runtime stage holds the server binary, the shipped model (models/route-v1), the default
# config and the shared libraries the binary needs; it runs as the non-root user 10001 (the
# Kubernetes Deployment's runAsUser) from /opt/routeserve, the directory model.path is relative
# to. The entrypoint reads the image's config; the default command binds every interface, and
# Kubernetes replaces it with the ConfigMap's config (deploy/k8s; a later --config wins).

ARG DEBIAN_IMAGE=debian:12
ARG DEBIAN_SLIM_IMAGE=debian:12-slim
ARG CUDA_DEVEL_IMAGE=nvidia/cuda:12.6.3-cudnn-devel-ubuntu24.04
ARG CUDA_BASE_IMAGE=nvidia/cuda:12.6.3-base-ubuntu24.04

# --- cpu: Debian's CPU LibTorch, built by the project's own commands ----------------------------

FROM ${DEBIAN_IMAGE} AS cpu-builder
WORKDIR /src
# The same set-up `make` runs, in a layer of its own so that a source change keeps it.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# build_info's revision label (docs/DEPLOY.md): the context has no .git to read it from.
ARG ROUTESERVE_REVISION=unknown
# `make configure` is what `make build` runs first; then only the server's target.
RUN make configure BUILD_DIR=build BUILD_TYPE=Release \
    && cmake --build build -j "$(nproc)" --target routeserve

FROM ${DEBIAN_SLIM_IMAGE} AS cpu
# The packages of the shared libraries the binary links (objdump -p build/routeserve: NEEDED),
# with what they pull in; OpenBLAS's pthread build provides libblas.so.3, as in the build
# (scripts/install-deps.sh says why that one).
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        libtorch1.13 libopenblas0-pthread \
        libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 \
        libyaml-cpp0.7 libprometheus-cpp-core1.0 libmicrohttpd12 \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 routeserve \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin routeserve
WORKDIR /opt/routeserve
COPY --from=cpu-builder /src/build/routeserve bin/routeserve
COPY models/route-v1 models/route-v1
COPY config/routeserve.yaml config/routeserve.yaml
# One BLAS thread per forward pass: the executors already run side by side (model.threads).
ENV OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
USER 10001:10001
# gRPC (server.address) and /metrics (metrics.address).
EXPOSE 50051 9464
# SIGTERM starts the phased shutdown (shutdown.drain_delay_s, then shutdown.grace_period_s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/opt/routeserve/bin/routeserve", "--config", "/opt/routeserve/config/routeserve.yaml"]
CMD ["--set=server.address=0.0.0.0:50051", "--set=metrics.address=0.0.0.0:9464"]

# --- gpu: PyTorch's CUDA LibTorch on NVIDIA's CUDA image ----------------------------------------
#
# Debian 12 has no CUDA LibTorch, and NVIDIA publishes no Debian CUDA images: the builder is
# NVIDIA's Ubuntu 24.04 image, whose gRPC (1.51), Protobuf (3.21), Abseil (20220623) and
# prometheus-cpp (1.0) are the versions Debian 12 has. Its Catch2 is 3, the build wants 2: built
# from its release. LibTorch comes from download.pytorch.org, the cxx11 ABI build (the system
# libraries use that ABI), with its CUDA libraries bundled; a model file saved by Debian's
# PyTorch 1.13 loads in newer LibTorch (docs/ARCHITECTURE.md, The model).

FROM ${CUDA_DEVEL_IMAGE} AS gpu-builder
ARG LIBTORCH_URL=https://download.pytorch.org/libtorch/cu126/libtorch-cxx11-abi-shared-with-deps-2.6.0%2Bcu126.zip
ARG CATCH2_VERSION=v2.13.10
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        g++ make cmake pkg-config ca-certificates curl unzip git \
        libabsl-dev libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc \
        libyaml-cpp-dev prometheus-cpp-dev libmicrohttpd-dev \
    && rm -rf /var/lib/apt/lists/*
RUN curl -fsSL -o /tmp/libtorch.zip "${LIBTORCH_URL}" \
    && unzip -q /tmp/libtorch.zip -d /opt && rm /tmp/libtorch.zip
RUN git clone --depth 1 --branch "${CATCH2_VERSION}" https://github.com/catchorg/Catch2.git /tmp/catch2 \
    && cmake -S /tmp/catch2 -B /tmp/catch2/build -DCATCH_BUILD_TESTING=OFF -DCATCH_INSTALL_DOCS=OFF \
    && cmake --build /tmp/catch2/build --target install && rm -rf /tmp/catch2
WORKDIR /src
COPY . .
ARG ROUTESERVE_REVISION=unknown
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=/opt/libtorch \
    && cmake --build build -j "$(nproc)" --target routeserve
# The Ubuntu packages that own the system libraries the binary loads (LibTorch's, under
# /opt/libtorch, are copied as they are), for the runtime stage to install by name.
RUN ldd build/routeserve | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | xargs realpath \
    | while read -r lib; do dpkg -S "$lib" 2>/dev/null || dpkg -S "${lib#/usr}" 2>/dev/null || true; done \
    | cut -d: -f1 | sort -u > build/runtime-packages \
    && cat build/runtime-packages

FROM ${CUDA_BASE_IMAGE} AS gpu
COPY --from=gpu-builder /src/build/runtime-packages /tmp/runtime-packages
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        $(cat /tmp/runtime-packages) \
    && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages
# Ubuntu's images carry a user 1000 (ubuntu); routeserve's is 10001, as on the cpu image.
RUN groupadd --system --gid 10001 routeserve \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin routeserve
WORKDIR /opt/routeserve
COPY --from=gpu-builder /opt/libtorch/lib /opt/libtorch/lib
COPY --from=gpu-builder /src/build/routeserve bin/routeserve
COPY models/route-v1 models/route-v1
COPY config/routeserve.yaml config/routeserve.yaml
# compute for CUDA, utility for NVML (libnvidia-ml.so.1: the GPU metrics), both mounted by the
# NVIDIA container runtime from the node's driver.
ENV LD_LIBRARY_PATH=/opt/libtorch/lib \
    NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    OMP_NUM_THREADS=1
USER 10001:10001
EXPOSE 50051 9464
STOPSIGNAL SIGTERM
ENTRYPOINT ["/opt/routeserve/bin/routeserve", "--config", "/opt/routeserve/config/routeserve.yaml"]
CMD ["--set=server.address=0.0.0.0:50051", "--set=metrics.address=0.0.0.0:9464"]
