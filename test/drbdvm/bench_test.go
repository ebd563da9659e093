package drbdvm

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// linbitDRBD is drbd-utils' ocf:linbit:drbd on the same resource: the
// reference the project's agent is measured against. Its drbdadm (the 9.x
// wrapper) finds drbdadm-84 only through PATH: without /usr/lib/drbd there
// it cannot even read the module version and every action fails with 5.
var linbitDRBD = Agent{Type: "linbit/drbd", Resource: "drbd-linbit", PathPrefix: "/usr/lib/drbd:",
	Params: map[string]string{"drbd_resource": Resource}}

// opCost is one timed agent call, measured inside the guest.
type opCost struct {
	took  time.Duration
	forks int
}

// timeOp runs script in g under timeit and fails b unless it exits 0.
func timeOp(b *testing.B, g *Guest, script string) opCost {
	b.Helper()
	if err := g.WriteFile("/tmp/op.sh", []byte(script+"\n")); err != nil {
		b.Fatal(err)
	}
	res := g.Exec(b, "timeit /tmp/op.sh")
	f := strings.Fields(res.Stdout)
	if res.Status != 0 || len(f) != 2 {
		b.Fatalf("%s: %s: exit %d, output %q; stderr %s", g.Name, script, res.Status, res.Stdout, res.Stderr)
	}
	us, err1 := strconv.Atoi(f[0])
	forks, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		b.Fatalf("timeit output %q", res.Stdout)
	}
	return opCost{took: time.Duration(us) * time.Microsecond, forks: forks}
}

// report adds the median time (ms) and forks of costs as metrics.
func report(b *testing.B, name string, costs []opCost) {
	slices.SortFunc(costs, func(x, y opCost) int { return int(x.took - y.took) })
	m := costs[len(costs)/2]
	b.ReportMetric(float64(m.took.Microseconds())/1000, name+"-ms")
	b.ReportMetric(float64(m.forks), name+"-forks")
	var all []string
	for _, c := range costs {
		all = append(all, fmt.Sprintf("%.1f", float64(c.took.Microseconds())/1000))
	}
	b.Logf("%s: ms sorted %s", name, strings.Join(all, " "))
}

// usable is what must succeed after a promotion for the device to count as
// usable: a direct, synced write on it.
const usable = " && dd if=/dev/zero of=" + Device + " bs=4k count=1 oflag=direct conv=fsync 2>/dev/null"

// BenchmarkAgents compares ocf:pbxha:drbd with ocf:linbit:drbd on real
// DRBD 8.4 in one guest (node-a; node-b is a connected UpToDate
// Secondary): promote latency (agent call until a direct write on the
// device succeeds), demote latency, and the recurring monitor's cost on
// the Primary and on the Secondary, each as the median over b.N rounds
// with the number of processes the call created.
func BenchmarkAgents(b *testing.B) {
	c := Boot(b)
	c.ConfigureDRBD(b, "")
	for _, g := range c.Guests() {
		g.Sh(b, "drbdadm up "+Resource)
	}
	c.A.AwaitDRBD(b, "cstate", "Connected", time.Minute)
	c.A.Sh(b, "drbdadm primary --force "+Resource+" && drbdadm secondary "+Resource)
	c.AwaitSynced(b, 3*time.Minute)
	a := c.A
	for _, agent := range []Agent{pbxDRBD, linbitDRBD} {
		b.Run(strings.ReplaceAll(agent.Type, "/", ":"), func(b *testing.B) {
			a.Sh(b, agent.Script(a, "start", 0, nil))
			var promote, demote, monP, monS []opCost
			for i := 0; i < b.N; i++ {
				promote = append(promote, timeOp(b, a, agent.Script(a, "promote", 0, nil)+usable))
				monP = append(monP, timeOp(b, a, agent.Script(a, "monitor", 29*time.Second, nil)+"; [ $? = 8 ]"))
				demote = append(demote, timeOp(b, a, agent.Script(a, "demote", 0, nil)))
				monS = append(monS, timeOp(b, a, agent.Script(a, "monitor", 31*time.Second, nil)))
			}
			report(b, "promote", promote)
			report(b, "demote", demote)
			report(b, "monitor-promoted", monP)
			report(b, "monitor-unpromoted", monS)
		})
	}
}
