# Thin entry points; CMake does the building. `make serve` and `make test` work on a fresh
# Debian 12 machine: both install what is missing first.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CONFIG ?= config/routeserve.yaml

.PHONY: all deps bench-deps configure build serve test bench check-dashboard check-deploy \
	sync-deploy clean

all: build

deps:
	@scripts/install-deps.sh

# What the scripts in bench/ need beyond the build (docs/BENCHMARKS.md); `make test` does not.
bench-deps:
	@scripts/install-deps.sh bench

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

serve: build
	$(BUILD_DIR)/routeserve --config $(CONFIG)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The Grafana dashboard against Grafana's published schema; needs Node.js and npm, not the build.
check-dashboard:
	@scripts/check-dashboard.sh $(BUILD_DIR)/dashboard-check

# The Kubernetes manifests (deploy/k8s, docs/DEPLOY.md): renders every overlay with
# `kubectl kustomize` and checks the objects offline, and the Dockerfile against them; needs
# kubectl and Python's yaml, not the build, nor a cluster.
check-deploy:
	@scripts/check-deploy.py

# Rewrites the base's copies of config/routeserve.yaml and deploy/prometheus/alerts.yaml.
sync-deploy:
	@scripts/sync-deploy.py

clean:
	rm -rf $(BUILD_DIR)
