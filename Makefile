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

# The deployment files (docs/DEPLOY.md): yamllint, every overlay rendered with
# `kubectl kustomize` and checked offline against the config, the code and the schemas, and
# the Dockerfile, with dockerfilelint too. Needs kubectl; installs yamllint, Node.js and the
# pinned npm packages when missing (into $(BUILD_DIR)/deploy-check); not the build, nor a
# cluster, nor Docker.
check-deploy:
	@scripts/check-deploy.sh $(BUILD_DIR)/deploy-check

# Rewrites the base's copies of config/routeserve.yaml and deploy/prometheus/alerts.yaml.
sync-deploy:
	@scripts/sync-deploy.py

clean:
	rm -rf $(BUILD_DIR)
