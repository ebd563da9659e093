# The 3-node Pacemaker lab (test/lab) and the vip agent's benchmarks.
.PHONY: lab lab-down bench-vip bench-failover
BENCHES += bench-vip bench-failover
# The stock SIP stack the lab compares against: kamailio and its agent's monitor tool.
DEB_PACKAGES += kamailio sipsak kmod  # kmod: ocf:heartbeat:Filesystem refuses to run without modprobe

# Leaves the cluster running with the PBX stack (fs, vip, pbx) on 198.18.0.50.
lab: deps build
	build/bin/pbxha-lab up --config test/lab/config/pbx.crm
	@test/lab/on pbxha-n1 crm_mon --one-shot
	@echo
	@echo "The PBX answers the client on the VIP:"; build/bin/pbxha-lab sip-ping
	@echo
	@echo "A shell on a node (crm_mon, crm, cibadmin work there):  test/lab/on pbxha-n1"
	@echo "The client namespace:                                   test/lab/on pbxha-c1 ping 198.18.0.50"
	@echo "SIP OPTIONS from the client:                            build/bin/pbxha-lab sip-ping"
	@echo "The PBX CLI on the active node:                         test/lab/on NODE $(CURDIR)/build/bin/pbx status --data /var/lib/pbxha-lab/srv"
	@echo "Hard-kill / revive a node:                              build/bin/pbxha-lab kill pbxha-n1; build/bin/pbxha-lab revive pbxha-n1"
	@echo "Tear it all down:                                       make lab-down"

lab-down:
	@if [ -x build/bin/pbxha-lab ]; then build/bin/pbxha-lab down; else $(GO) run ./cmd/pbxha-lab down; fi

# Monitor cost, ocf:pbxha:vip vs ocf:heartbeat:IPaddr2, same namespace, same run.
bench-vip: build
	PBXHA_REQUIRE_ROOT=1 $(GO) test -run '^$$' -bench BenchmarkMonitor -benchtime 200x -count 3 ./resource-agents/vip

# Hard-kill failover, ours and the stock agents interleaved in one lab run:
# the VIP (vs IPaddr2) and the whole SIP stack (vs Filesystem+IPaddr2+kamailio).
bench-failover: build
	rm -f build/failover.md
	PBXHA_REQUIRE_ROOT=1 PBXHA_LAB_RUNS=$${RUNS:-5} PBXHA_LAB_REPORT=$(CURDIR)/build/failover.md \
		$(GO) test -count=1 -timeout 60m -run 'TestVIPFailover|TestPBXFailover' -v ./test/lab > build/failover.log 2>&1; rc=$$?; grep -E 'answered|^ok|FAIL|Error|error' build/failover.log; exit $$rc
	@cat build/failover.md
