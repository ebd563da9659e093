# pbx: the PBX daemon and admin CLI (cmd/pbx, pbx/), its sipp scenarios
# (test/sipp) and its benchmarks against Kamailio (docs/benchmarks/pbx.md).
# The sipp tests are ordinary Go tests (go test ./test/sipp), so `make test`
# runs them; the benchmarks run only with `make bench`.
DEB_PACKAGES += sip-tester kamailio kamailio-sqlite-modules sqlite3
BENCHES      += bench-pbx

.PHONY: bench-pbx
# Durable authenticated REGISTER/s (pbx vs Kamailio 5.6, same sipp scenario,
# same run), call setups/s through the RTP relay, memory per registration
# and per active call, goroutines under load. Figures go to stdout.
bench-pbx:
	PBXHA_BENCH=1 $(GO) test -count=1 -timeout 20m -run 'TestPerf' -v ./test/sipp
