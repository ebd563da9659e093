# test/drbdvm: real DRBD 8.4 replicating between two qemu guests (Debian's
# kernel, fetched once into test/drbdvm/cache/, booted under TCG).
# `make test` runs the suite with the rest of `go test ./...`; `make test-drbd`
# runs it alone. The guest image is assembled in Go (no cpio tool needed).
DEB_PACKAGES += qemu-system-x86 busybox-static drbd-utils e2fsprogs resource-agents libxml2-utils

.PHONY: test-drbd
test-drbd: deps
	PBXHA_REQUIRE_ROOT=1 $(GO) test -count=1 -timeout 20m -v ./test/drbdvm/...

# ocf:pbxha:drbd vs ocf:linbit:drbd on real DRBD 8.4 (docs/benchmarks/drbdvm.md).
.PHONY: bench-drbdvm
bench-drbdvm:
	PBXHA_REQUIRE_ROOT=1 $(GO) test -count=1 -run '^$$' -bench BenchmarkAgents -benchtime 10x -timeout 20m -v ./test/drbdvm/
BENCHES += bench-drbdvm
