# Thin entry points; CMake does the building. `make serve` and `make test` work on a fresh
# Debian 12 machine: both install what is missing first.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CONFIG ?= config/routeserve.yaml

.PHONY: all deps bench-deps configure build serve test bench check-dashboard check-deploy \
	sync-deploy clean test-asan test-tsan fuzz fuzz-deps architecture architecture-deps \
	check-architecture image-test

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

# Sanitized builds, each in its own directory (docs/RELIABILITY.md). Optimised a little and with
# line tables, so that a report names the line; assertions stay on.
SANITIZED_BUILD = -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1"
ASAN_DIR ?= build-asan
TSAN_DIR ?= build-tsan
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
# Tests left out of `make test-asan`, by label (docs/RELIABILITY.md says why).
ASAN_EXCLUDE ?= no-asan
# What `make test-tsan` runs, by label: the batcher, and the serving spine's queues (LibTorch
# linked, never run).
TSAN_LABELS ?= tsan

# The whole suite under AddressSanitizer and UndefinedBehaviorSanitizer (g++); a report fails the
# test that made it.
test-asan: deps
	@cmake -S . -B $(ASAN_DIR) $(SANITIZED_BUILD) -DROUTESERVE_SANITIZE=address
	@cmake --build $(ASAN_DIR) -j $(JOBS)
	@cd $(ASAN_DIR) && \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -LE '$(ASAN_EXCLUDE)'

# The batcher's and the serving spine's thread-heavy tests under ThreadSanitizer (g++).
test-tsan: deps
	@cmake -S . -B $(TSAN_DIR) $(SANITIZED_BUILD) -DROUTESERVE_SANITIZE=thread
	@cmake --build $(TSAN_DIR) -j $(JOBS) --target routeserve_tsan_tests
	@cd $(TSAN_DIR) && \
	  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure -j $(JOBS) -L '$(TSAN_LABELS)'

fuzz-deps:
	@scripts/install-deps.sh fuzz

# The request fuzzer (tests/fuzz) with clang and libFuzzer, for FUZZ_SECONDS; builds only the
# proto messages, routing/, api/ and the target, into $(FUZZ_DIR).
fuzz: fuzz-deps
	@cmake -S . -B $(FUZZ_DIR) $(SANITIZED_BUILD) -DCMAKE_CXX_COMPILER=clang++ \
	  -DROUTESERVE_SANITIZE=fuzzer
	@cmake --build $(FUZZ_DIR) -j $(JOBS)
	@scripts/fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

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

# The CPU image, built from the Dockerfile with podman (no registry: its base images come from
# debootstrap) and run as the Deployment runs it: health, one Suggest, /metrics and a model
# swap by SIGHUP, through published ports (docs/DEPLOY.md). As root; not in CI (it builds the
# project once more, in the image: about 20 minutes on 2 cores the first time).
image-test: build
	@CLI=$(BUILD_DIR)/routeserve-cli scripts/image-test.sh $(BUILD_DIR)-image

architecture-deps:
	@scripts/install-deps.sh architecture

# docs/architecture.svg, the picture docs/ARCHITECTURE.md and README.md show, rendered from
# docs/architecture.dot with Graphviz; commit both. Needs neither the build nor its packages.
architecture: architecture-deps
	@scripts/render-architecture.sh docs/architecture.svg

# Fails when the committed docs/architecture.svg is not what docs/architecture.dot renders to.
check-architecture:
	@scripts/check-architecture.sh

# Rewrites the base's copies of config/routeserve.yaml and deploy/prometheus/alerts.yaml.
sync-deploy:
	@scripts/sync-deploy.py

clean:
	rm -rf $(BUILD_DIR)
