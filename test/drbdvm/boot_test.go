package drbdvm

import (
	"strings"
	"testing"
)

// TestBootAndChannel checks that both guests boot with their identity, the
// DRBD module and a working network between them, and that the channel
// carries stdout, stderr and exit status separately.
func TestBootAndChannel(t *testing.T) {
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
}
