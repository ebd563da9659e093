package drbdvm

import (
	"strings"
	"testing"
	"time"
)

// pbxDRBD is ocf:pbxha:drbd managing the test resource.
var pbxDRBD = Agent{Type: "pbxha/drbd", Resource: "drbd-pbx", Params: map[string]string{"drbd_resource": Resource}}

// Shell snippets run on a Primary: a file system with known data, and the
// sha256 of that data read back.
const (
	writeKnownData = "mkfs.ext4 -q -F " + Device + " && mount -t ext4 " + Device + " /mnt && " +
		"dd if=/dev/urandom of=/mnt/data bs=1M count=4 2>/dev/null && sync && sha256sum < /mnt/data && umount /mnt"
	appendData = "mount -t ext4 " + Device + " /mnt && dd if=/dev/urandom of=/mnt/data bs=1M count=2 " +
		"oflag=append conv=notrunc,fsync 2>/dev/null && sha256sum < /mnt/data && umount /mnt"
	readData = "mount -t ext4 -o ro " + Device + " /mnt && sha256sum < /mnt/data; rc=$?; umount /mnt; exit $rc"
)

// lastScore is the last promotion-score call the crm_attribute stand-in
// recorded on g.
func lastScore(t *testing.T, g *Guest) string {
	t.Helper()
	return strings.TrimSpace(g.Sh(t, "tail -n 1 /var/log/crm_attribute.log"))
}

// failover demotes from, promotes to (both through the agent) and checks
// that to reads the data whose sha256 is want.
func failover(t *testing.T, clone *Clone, from, to *Guest, want string) {
	t.Helper()
	clone.Demote(from)
	clone.Monitor(from, OCFSuccess)
	clone.Promote(to)
	clone.Monitor(to, OCFPromoted)
	if got := to.Sh(t, readData); got != want {
		t.Fatalf("%s reads data with sha256 %s after taking over from %s, want %s", to.Name, got, from.Name, want)
	}
}

// TestAgentScenarios drives ocf:pbxha:drbd and drbdctl on real DRBD 8.4
// exactly as Pacemaker and an operator would: probes, start with
// notifications, initial sync with drbdctl's progress, promotion scores,
// failover with a file system, a resync after a cut link, and a split
// brain detected and recovered with the documented drbdctl commands.
func TestAgentScenarios(t *testing.T) {
	c := Boot(t)
	a, b := c.A, c.B
	c.ConfigureDRBD(t, "")
	clone := NewClone(t, pbxDRBD)
	const minute = time.Minute

	t.Log("probes before start: not running, never a failure")
	clone.Probe(a, OCFNotRunning)
	clone.Probe(b, OCFNotRunning)
	clone.Start(a, b)
	clone.Monitor(a, OCFSuccess)
	clone.Monitor(b, OCFSuccess)
	if got := lastScore(t, a); got != "--promotion --delete" {
		t.Errorf("score with Inconsistent data: last crm_attribute call %q, want --promotion --delete", got)
	}
	a.AwaitDRBD(t, "cstate", "Connected", minute)
	clone.Op(a, "promote", 0, OCFErrGeneric, nil) // refused: no UpToDate data, never forced
	if role := strings.TrimSpace(a.Sh(t, "drbdadm role "+Resource)); role != "Secondary/Secondary" {
		t.Fatalf("after a refused promote: role %q", role)
	}

	t.Log("initial sync (an operator's one-time primary --force), followed with drbdctl wait-sync")
	for _, g := range c.Guests() {
		g.Sh(t, "drbdadm disk-options --c-plan-ahead=0 --resync-rate=4M "+Resource)
	}
	a.Sh(t, "drbdadm primary --force "+Resource+" && drbdadm secondary "+Resource)
	res := b.Exec(t, "drbdctl wait-sync -r "+Resource+" --timeout 3m --progress always")
	if res.Status != 0 || !strings.Contains(res.Stderr, "%") || !strings.Contains(res.Stderr, "ETA") {
		t.Fatalf("drbdctl wait-sync: exit %d, want 0 with progress and ETA on stderr:\n%s", res.Status, res.Stderr)
	}
	t.Logf("wait-sync progress (last lines):\n%s", tail(res.Stderr, 400))
	c.AwaitSynced(t, minute)
	clone.Monitor(a, OCFSuccess) // recurring monitors refresh the scores
	clone.Monitor(b, OCFSuccess)
	for _, g := range c.Guests() {
		if got := lastScore(t, g); got != "--promotion --update 10000" {
			t.Errorf("%s: score when UpToDate with the peer known: %q, want --update 10000", g.Name, got)
		}
	}

	t.Log("promote A, file system with known data, demote A, promote B, same bytes")
	clone.Promote(a)
	clone.Monitor(a, OCFPromoted)
	clone.Monitor(b, OCFSuccess)
	sum := a.Sh(t, writeKnownData)
	a.Sh(t, "mount -t ext4 "+Device+" /mnt")
	res = clone.Op(a, "demote", 0, OCFErrGeneric, nil)
	if !strings.Contains(res.Stderr, "/mnt") {
		t.Errorf("demote while mounted must name the mount; stderr: %s", res.Stderr)
	}
	a.Sh(t, "umount /mnt")
	failover(t, clone, a, b, sum)

	t.Log("cut the link, write on the Primary, reconnect, resync, verify on the other node")
	c.SetLink(t, a, false)
	a.AwaitDRBD(t, "cstate", "WFConnection", minute)
	b.AwaitDRBD(t, "cstate", "WFConnection", minute)
	clone.Monitor(b, OCFPromoted)
	clone.Monitor(a, OCFSuccess)
	if got := lastScore(t, a); got != "--promotion --update 1000" {
		t.Errorf("%s: score when UpToDate with the peer unknown: %q, want --update 1000", a.Name, got)
	}
	sum = b.Sh(t, appendData)
	c.SetLink(t, a, true)
	if res := a.Exec(t, "drbdctl wait-sync -r "+Resource+" --timeout 2m --progress never"); res.Status != 0 {
		t.Fatalf("drbdctl wait-sync after reconnect: exit %d: %s", res.Status, res.Stderr)
	}
	c.AwaitSynced(t, minute)
	failover(t, clone, b, a, sum)

	t.Log("split brain: both promoted while cut off, both write, reconnect")
	c.SetLink(t, b, false)
	b.AwaitDRBD(t, "cstate", "WFConnection", minute)
	a.AwaitDRBD(t, "cstate", "WFConnection", minute)
	clone.Promote(b) // B's partition decides alone (no fencing here)
	survivor := a.Sh(t, appendData)
	b.Sh(t, appendData)
	for _, g := range c.Guests() {
		g.Sh(t, "drbdctl watch -r "+Resource+" >/tmp/watch.log 2>&1 & echo $! >/run/watch.pid")
	}
	c.SetLink(t, b, true)
	for _, g := range c.Guests() {
		g.AwaitDRBD(t, "cstate", "StandAlone", minute)
		watch := g.Sh(t, "kill $(cat /run/watch.pid); cat /tmp/watch.log")
		if !strings.Contains(watch, "helper split-brain") || !strings.Contains(watch, "StandAlone") {
			t.Errorf("%s: drbdctl watch did not report the split-brain helper and StandAlone:\n%s", g.Name, watch)
		}
		st := g.Exec(t, "drbdctl status -r "+Resource)
		t.Logf("%s: drbdctl status (exit %d):\n%s%s", g.Name, st.Status, st.Stdout, st.Stderr)
		if !strings.Contains(st.Stdout+st.Stderr, "StandAlone") || !strings.Contains(st.Stdout+st.Stderr, "resolve-split-brain") {
			t.Errorf("%s: drbdctl status does not report the split brain with its recovery command", g.Name)
		}
		if wc := g.Exec(t, "drbdctl wait-connect -r "+Resource+" --timeout 20s"); wc.Status != 7 {
			t.Errorf("%s: drbdctl wait-connect on a StandAlone resource: exit %d, want 7 (%s)", g.Name, wc.Status, wc.Stderr)
		}
		mon := clone.Monitor(g, OCFPromoted)
		if !strings.Contains(mon.Stderr, "StandAlone") {
			t.Errorf("%s: monitor does not log the StandAlone connection; stderr: %s", g.Name, mon.Stderr)
		}
	}

	t.Log("recovery: B is the victim, with the documented drbdctl commands")
	clone.Demote(b)
	b.Sh(t, "drbdctl resolve-split-brain --resource "+Resource+" --discard-my-data")
	a.Sh(t, "drbdctl resolve-split-brain --resource "+Resource+" --keep-my-data")
	b.Sh(t, "drbdctl wait-sync --resource "+Resource+" --timeout 2m --progress never")
	c.AwaitSynced(t, minute)
	failover(t, clone, a, b, survivor)

	clone.Demote(b)
	clone.Stop(a, b)
	clone.Probe(a, OCFNotRunning)
	clone.Probe(b, OCFNotRunning)

	t.Log("ocf-tester on node-a (UpToDate data, peer stopped)")
	res = a.Exec(t, "PATH="+agentPATH+" ocf-tester -n drbd-pbx -o drbd_resource="+Resource+" "+OCFRoot+"/resource.d/"+pbxDRBD.Type)
	t.Logf("ocf-tester (exit %d):\n%s%s", res.Status, res.Stdout, res.Stderr)
	if res.Status != 0 || !strings.Contains(res.Stdout, "passed all tests") {
		t.Errorf("ocf-tester: exit %d, want 0 and \"passed all tests\"", res.Status)
	}
}
