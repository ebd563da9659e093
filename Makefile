# pbxha: build, test and lab entry points. Area-specific targets live in
# mk/*.mk fragments (one per area, one owner each) and hook in through the
# variables below.
SHELL        := /bin/bash
GO           ?= go
BUILD        := build
OCF_ROOT_OUT := $(BUILD)/ocf
# Agents served by the multi-call binary build/bin/pbxha-ocf (fragments append).
OCF_AGENTS   := vip fs pbx
# Debian packages the whole suite needs (fragments append).
DEB_PACKAGES := iproute2 libxml2-utils strace iputils-ping pacemaker \
                pacemaker-cli-utils corosync crmsh resource-agents util-linux e2fsprogs
# Integration targets run by `make test` after the unit tests (fragments append).
INTEGRATION  :=
# Benchmark targets run by `make bench` (fragments append).
BENCHES      :=

.PHONY: all build deps test test-unit lint bench lab lab-down clean

all: build

include $(sort $(wildcard mk/*.mk))

deps:
	@scripts/deps.sh $(DEB_PACKAGES)

build:
	@mkdir -p $(BUILD)/bin $(OCF_ROOT_OUT)/resource.d/pbxha
	$(GO) build -trimpath -o $(BUILD)/bin/ ./cmd/...
	@for a in $(OCF_AGENTS); do ln -sfn ../../../bin/pbxha-ocf $(OCF_ROOT_OUT)/resource.d/pbxha/$$a; done
	@echo "built: $(BUILD)/bin/ and OCF_ROOT=$(CURDIR)/$(OCF_ROOT_OUT) (agents: $(OCF_AGENTS))"

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Fast iteration: unit tests only (no cluster, no qemu, no sipp runs).
test-unit: lint
	$(GO) test -short -count=1 ./...

# The whole suite, as CI runs it. Root-only tests fail instead of skipping.
# Packages run one at a time (-p 1): the Pacemaker lab's 1 s corosync token
# and the qemu guests must not starve each other on a 2-core machine.
test: deps build lint
	PBXHA_REQUIRE_ROOT=1 $(GO) test -p 1 -count=1 -timeout 40m ./...
	@for t in $(INTEGRATION); do echo "== $$t"; $(MAKE) --no-print-directory $$t || exit 1; done

bench: deps build $(BENCHES)

clean:
	rm -rf $(BUILD)
