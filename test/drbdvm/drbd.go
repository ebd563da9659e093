package drbdvm

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The DRBD resource every scenario uses: one volume on the guest's data
// disk with internal meta-data.
const (
	Resource = "r0"
	Device   = "/dev/drbd0"
	Disk     = "/dev/vda"
	drbdPort = 7789
)

// ResourceFile is the DRBD 8.4 resource file for the guests; extra is
// inserted verbatim in the resource section (e.g. a disk { } block).
func ResourceFile(guests []*Guest, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "resource %s {\n\tdevice %s;\n\tdisk %s;\n\tmeta-disk internal;\n", Resource, Device, Disk)
	// ping-int 2 (default 10 s): a cut link is noticed within seconds.
	b.WriteString("\tnet {\n\t\tprotocol C;\n\t\tping-int 2;\n\t}\n")
	b.WriteString(extra)
	for _, g := range guests {
		fmt.Fprintf(&b, "\ton %s {\n\t\taddress %s:%d;\n\t}\n", g.Name, g.IP, drbdPort)
	}
	b.WriteString("}\n")
	return b.String()
}

// ConfigureDRBD writes the resource file (with extra, see ResourceFile) to
// every guest and creates the meta-data, leaving the resource down.
func (c *Cluster) ConfigureDRBD(t testing.TB, extra string) {
	t.Helper()
	conf := []byte(ResourceFile(c.Guests(), extra))
	for _, g := range c.Guests() {
		if err := g.WriteFile("/etc/drbd.d/"+Resource+".res", conf); err != nil {
			t.Fatal(err)
		}
		g.Sh(t, "yes yes | drbdadm create-md "+Resource)
	}
}

// Await runs probe (a shell condition) in g every 200 ms until it succeeds,
// failing t with the probe's last output after timeout. Waits run in the
// guest, so they wait for an end state rather than sampling from afar.
func (g *Guest) Await(t testing.TB, probe string, timeout time.Duration) {
	t.Helper()
	script := fmt.Sprintf("until %s; do sleep 0.2; done", probe)
	res, err := g.Run(script, timeout)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 0 {
		last := g.Exec(t, probe)
		t.Fatalf("%s: %q not true within %v (status %d); last output: %s%s", g.Name, probe, timeout, res.Status, last.Stdout, last.Stderr)
	}
}

// AwaitDRBD waits until `drbdadm STATE r0` prints want on g (e.g. cstate
// "Connected", dstate "UpToDate/UpToDate").
func (g *Guest) AwaitDRBD(t testing.TB, state, want string, timeout time.Duration) {
	t.Helper()
	g.Await(t, fmt.Sprintf("[ \"$(drbdadm %s %s 2>&1)\" = %q ]", state, Resource, want), timeout)
}

// Switchover demotes from and promotes to, each with drbdadm.
func (c *Cluster) Switchover(t testing.TB, from, to *Guest) {
	t.Helper()
	from.Sh(t, "drbdadm secondary "+Resource)
	to.Sh(t, "drbdadm primary "+Resource)
}

// AwaitSynced waits until both guests see the resource Connected and
// UpToDate/UpToDate (each side leaves SyncSource/SyncTarget on its own).
func (c *Cluster) AwaitSynced(t testing.TB, timeout time.Duration) {
	t.Helper()
	for _, g := range c.Guests() {
		g.Await(t, fmt.Sprintf("[ \"$(drbdadm cstate %[1]s)/$(drbdadm dstate %[1]s)\" = Connected/UpToDate/UpToDate ]", Resource), timeout)
	}
}
