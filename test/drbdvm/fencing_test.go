package drbdvm

import (
	"strings"
	"testing"
	"time"
)

// TestGenConfigFencing runs the resource file `drbdctl gen-config` writes
// (fencing resource-only, crm-fence-peer.9.sh) on real DRBD 8.4: it
// replicates, and a Secondary cut off from its Primary refuses to become
// Primary because nothing could outdate the peer (there is no Pacemaker in
// the guests for the fence-peer handler to talk to), which drbdctl reports
// as its exit 9 and the agent's promote as a failure.
func TestGenConfigFencing(t *testing.T) {
	c := Boot(t)
	a, b := c.A, c.B
	conf := a.Sh(t, "drbdctl gen-config -r "+Resource+" --disk "+Disk+" --device "+Device+
		" --node "+a.Name+"="+a.IP+":7789 --node "+b.Name+"="+b.IP+":7789 --drbd 8.4")
	for _, g := range c.Guests() {
		if err := g.WriteFile("/etc/drbd.d/"+Resource+".res", []byte(conf)); err != nil {
			t.Fatal(err)
		}
		g.Sh(t, "yes yes | drbdadm create-md "+Resource+" && drbdadm up "+Resource)
	}
	a.AwaitDRBD(t, "cstate", "Connected", time.Minute)
	a.Sh(t, "drbdadm primary --force "+Resource)
	c.AwaitSynced(t, 3*time.Minute)

	c.SetLink(t, b, false)
	b.AwaitDRBD(t, "cstate", "WFConnection", time.Minute)
	res := b.Exec(t, "drbdctl primary -r "+Resource+" --attempts 1")
	t.Logf("drbdctl primary on the cut-off Secondary: exit %d\n%s", res.Status, res.Stderr)
	if res.Status != 9 {
		t.Errorf("drbdctl primary without an outdated peer: exit %d, want 9 (ErrPeerNotOutdated)", res.Status)
	}
	clone := NewClone(t, pbxDRBD)
	promote := clone.Op(b, "promote", 0, OCFErrGeneric, nil)
	if !strings.Contains(promote.Stderr, "outdated") {
		t.Errorf("agent promote refusal does not say the peer is not outdated: %s", promote.Stderr)
	}
	if role := strings.TrimSpace(b.Sh(t, "drbdadm role "+Resource)); role != "Secondary/Unknown" {
		t.Errorf("role on %s after refused promotions: %q, want Secondary/Unknown", b.Name, role)
	}
}
