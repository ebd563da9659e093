package drbdvm

import (
	"strings"
	"testing"
	"time"
)

// TestFailoverReadsSameData is the end-to-end proof with drbd-utils alone:
// the guests boot with their identity, DRBD 8.4 and a network between
// them; initial sync; A writes 16 MiB, A demotes, B promotes and reads the
// same sha256 from its own replica.
func TestFailoverReadsSameData(t *testing.T) {
	c := Boot(t)
	for _, g := range c.Guests() {
		if got := strings.TrimSpace(g.Sh(t, "hostname")); got != g.Name {
			t.Errorf("hostname = %q, want %q", got, g.Name)
		}
		if got := g.Sh(t, "cat /proc/drbd"); !strings.Contains(got, "version: 8.4") {
			t.Errorf("%s: /proc/drbd = %q, want DRBD 8.4", g.Name, got)
		}
	}
	c.A.Sh(t, "ping -c 1 -W 5 "+c.B.IP)
	res := c.A.Exec(t, "echo out; echo err >&2; exit 3")
	if res.Stdout != "out\n" || res.Stderr != "err\n" || res.Status != 3 {
		t.Errorf("channel result = %+v, want stdout %q stderr %q status 3", res, "out\n", "err\n")
	}

	c.ConfigureDRBD(t, "")
	for _, g := range c.Guests() {
		g.Sh(t, "drbdadm up "+Resource)
	}
	c.A.AwaitDRBD(t, "cstate", "Connected", time.Minute)
	c.A.Sh(t, "drbdadm primary --force "+Resource)
	c.AwaitSynced(t, 3*time.Minute)

	const sum = "head -c 16777216 " + Device + " | sha256sum | cut -d' ' -f1"
	c.A.Sh(t, "dd if=/dev/urandom of="+Device+" bs=1M count=16 conv=fsync 2>/dev/null")
	written := strings.TrimSpace(c.A.Sh(t, sum))
	c.Switchover(t, c.A, c.B)
	if got := strings.TrimSpace(c.B.Sh(t, "drbdadm role "+Resource)); got != "Primary/Secondary" {
		t.Fatalf("role on %s after promotion = %q, want Primary/Secondary", c.B.Name, got)
	}
	read := strings.TrimSpace(c.B.Sh(t, sum))
	if len(written) != 64 || read != written {
		t.Fatalf("sha256 written on %s = %q, read on %s = %q", c.A.Name, written, c.B.Name, read)
	}
}
