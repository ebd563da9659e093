# Active-call recovery (pbx/recovery, pbx/sipd/restore*.go, test/recovery):
# the dialog journal, replay and restore after a kill -9 of `pbx run`.
# The sipp tests in test/recovery are ordinary Go tests, so `make test` runs
# them (sip-tester is already in DEB_PACKAGES via mk/pbx.mk; listed again so
# this fragment stands alone). The benchmarks run only with `make bench`;
# docs/benchmarks/recovery.md has their figures.
DEB_PACKAGES += sip-tester
BENCHES      += bench-recovery

.PHONY: bench-recovery
# Recovery time of 1000 active calls (exec to answering, over kill -9
# cycles), call setups/s with the journal on vs off (alternating runs), and
# the RTP gap across kill -9 + immediate restart (TestKillRestart's log).
bench-recovery:
	set -o pipefail; PBXHA_BENCH=1 $(GO) test -count=1 -timeout 30m -run 'TestBench|TestKillRestart/caller_hangs_up' -v ./test/recovery \
		| grep -E 'BENCH|RTP gap|restart:|^(ok|FAIL|---)'
