# cairn — one command each to run the demo, test and benchmark on Debian 12.
#   make run    install what is missing, build, back up and restore a demo
#   make test   install what is missing, build, run the whole suite
#   make bench  micro benchmarks, then cairn vs restic vs borg end to end
#   make package  Debian packages (cairn-server; cairn-agent with cairnctl)
BUILD ?= build
JOBS ?= $(shell nproc)
DEPS := build-essential cmake ninja-build pkg-config git \
        libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
        libabsl-dev libsodium-dev liblz4-dev libzstd-dev libsqlite3-dev libssl-dev \
        libcurl4-openssl-dev libhtscodecs-dev libxxhash-dev \
        libgtest-dev libgmock-dev libbenchmark-dev python3 curl \
        clang libclang-rt-14-dev
BENCH_DEPS := restic borgbackup time
# What only the tests need: promtool (Debian's prometheus package; its
# daemon is not started by the tests), chromium (the status page, rendered
# headless) and PyYAML (deploy/'s manifests checked).
TEST_DEPS := prometheus chromium python3-yaml
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps bench-deps test-deps node-deps s3rver configure build test run bench package clean format

all: build

deps:
	@missing=$$(for p in $(DEPS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

bench-deps:
	@missing=$$(for p in $(BENCH_DEPS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

test-deps:
	@missing=$$(for p in $(TEST_DEPS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# Node.js and npm, for s3rver. Only installed when node is missing: a newer
# Node from elsewhere (nodesource) must not be replaced by Debian's.
node-deps:
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  echo "installing: nodejs npm"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm; \
	fi

# s3rver, the S3-protocol server the S3 tier tests run against, at the
# versions pinned in tests/tools/s3rver/package-lock.json, in $(BUILD)/s3rver.
S3RVER_DIR := $(BUILD)/s3rver
S3RVER_STAMP := $(S3RVER_DIR)/node_modules/.package-lock.json
$(S3RVER_STAMP): tests/tools/s3rver/package.json tests/tools/s3rver/package-lock.json | node-deps
	mkdir -p $(S3RVER_DIR)
	cp tests/tools/s3rver/package.json tests/tools/s3rver/package-lock.json $(S3RVER_DIR)/
	npm ci --prefix $(S3RVER_DIR) --no-audit --no-fund
	touch $@
s3rver: $(S3RVER_STAMP)

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build s3rver test-deps
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

run: build
	./deploy/demo.sh $(BUILD)

VERSION ?= $(shell grep -m1 '^project' CMakeLists.txt | grep -o 'VERSION [0-9.]*' | cut -d' ' -f2)
# Debian packages in $(BUILD)/packages: apt install ./cairn-agent_*.deb on
# each node (deploy/package, docs/operations.md).
package: build
	sh deploy/package/build-debs.sh $(BUILD) $(BUILD)/packages $(VERSION)

bench: build bench-deps s3rver
	./bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD)
