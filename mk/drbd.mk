# drbdctl and the ocf:pbxha:drbd agent (issue 5).
# drbd-utils: drbdadm/drbdsetup (9.x and the 8.4 tools under /usr/lib/drbd)
# for gen-config validation (`drbdadm dump`, `drbdadm -d up`; no kernel
# module needed) and the crm-fence-peer.9.sh handlers the configs name.
DEB_PACKAGES += drbd-utils
OCF_AGENTS   += drbd

.PHONY: bench-drbdctl
# Parser and monitor micro-benchmarks (docs/benchmarks/drbd.md).
bench-drbdctl:
	$(GO) test -run '^$$' -bench . -benchmem ./drbdctl/ ./resource-agents/drbd/
BENCHES += bench-drbdctl
