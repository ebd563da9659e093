package drbdvm

import (
	"strings"
	"testing"
	"time"
)

// TestFailoverReadsSameData is the end-to-end proof with drbd-utils alone:
// initial sync, A writes 16 MiB, A demotes, B promotes and reads the same
// sha256 from its own replica.
func TestFailoverReadsSameData(t *testing.T) {
	c := Boot(t)
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
